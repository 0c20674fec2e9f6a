// A Feathers 5 app laid out the way `npm create feathers` (koa, REST, TypeBox schemas) generates
// one, squeezed into one file, with a `books` service on the memory adapter.
//
//   node feathers_app.js [PORT]        (or PORT=... node feathers_app.js); listens on 127.0.0.1
//
// Extra for the tests: `POST /reset` puts back the 25 seed books (ids 1..25; the next created
// book gets id 26). The seed rows are the JSON array in the SEED_BOOKS environment variable
// (the Python fixture sends them) or, without it, a built-in default.
'use strict'

const { feathers } = require('@feathersjs/feathers')
const { koa, rest, bodyParser, errorHandler } = require('@feathersjs/koa')
const { MemoryService } = require('@feathersjs/memory')
const { hooks: schemaHooks, Ajv } = require('@feathersjs/schema')
const { Type, getValidator, querySyntax } = require('@feathersjs/typebox')

// -- validators.ts: data as sent, query strings coerced to the schema's types ------------------
const dataValidator = new Ajv({})
const queryValidator = new Ajv({ coerceTypes: true })

// -- services/books/books.schema.ts ----------------------------------------------------------
const bookSchema = Type.Object(
  {
    id: Type.Number(),
    title: Type.String(),
    author: Type.String(),
    year: Type.Integer(),
    price: Type.Number()
  },
  { $id: 'Book', additionalProperties: false }
)
const bookDataSchema = Type.Pick(bookSchema, ['title', 'author', 'year', 'price'], {
  $id: 'BookData'
})
const bookDataValidator = getValidator(bookDataSchema, dataValidator)
const bookPatchSchema = Type.Partial(bookSchema, { $id: 'BookPatch' })
const bookPatchValidator = getValidator(bookPatchSchema, dataValidator)
const bookQueryProperties = Type.Pick(bookSchema, ['id', 'title', 'author', 'year', 'price'])
const bookQuerySchema = Type.Intersect(
  [querySyntax(bookQueryProperties), Type.Object({}, { additionalProperties: false })],
  { additionalProperties: false }
)
const bookQueryValidator = getValidator(bookQuerySchema, queryValidator)

// -- services/books/books.class.ts -----------------------------------------------------------
class BookService extends MemoryService {}

const paginate = { default: 10, max: 50 } // config/default.json of a generated app

// -- the seed rows and the reset service (tests only) ----------------------------------------
function defaultSeed() {
  const books = []
  for (let id = 1; id <= 25; id++) {
    books.push({
      id,
      title: `Book ${String(id).padStart(2, '0')}`,
      author: [1, 3, 4].includes(id % 5) ? 'Z' : 'A', // 15 Z, 10 A, on every page
      year: 1990 + id,
      price: 10 + id / 2
    })
  }
  return books
}

const SEED = process.env.SEED_BOOKS ? JSON.parse(process.env.SEED_BOOKS) : defaultSeed()

class ResetService {
  constructor(books) {
    this.books = books
  }

  async create() {
    const books = this.books
    books.store = {}
    for (const row of SEED) {
      books.store[row.id] = { ...row }
    }
    books._uId = Math.max(0, ...SEED.map((row) => row.id)) + 1
    return { books: SEED.length, nextId: books._uId }
  }
}

// -- app.ts ----------------------------------------------------------------------------------
const app = koa(feathers())
app.set('paginate', paginate)
app.use(errorHandler())
app.use(bodyParser())
app.configure(rest())

// services/books/books.ts: the methods a generated service exposes (no `update`, i.e. no PUT)
app.use('books', new BookService({ paginate: app.get('paginate'), multi: false }), {
  methods: ['find', 'get', 'create', 'patch', 'remove'],
  events: []
})
app.service('books').hooks({
  before: {
    // skipSanitize: false also runs the adapter's own query sanitising, which is what applies
    // `paginate` ($limit default and max): with the default (true) 5.0.50 skips it, and the
    // memory adapter then answers every row when no $limit is sent and any $limit as asked.
    all: [schemaHooks.validateQuery(bookQueryValidator, { skipSanitize: false })],
    create: [schemaHooks.validateData(bookDataValidator)],
    patch: [schemaHooks.validateData(bookPatchValidator)]
  }
})
app.use('reset', new ResetService(app.service('books')), { methods: ['create'], events: [] })

// -- index.ts --------------------------------------------------------------------------------
const port = Number.parseInt(process.argv[2] || process.env.PORT || '3030', 10)
app
  .service('reset')
  .create({})
  .then(() => app.listen(port, '127.0.0.1'))
  .then(() => console.log(`Feathers app listening on http://127.0.0.1:${port}`))
  .catch((error) => {
    console.error(error)
    process.exit(1)
  })
