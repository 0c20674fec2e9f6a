// Preload (`node --require ./exit_with_parent.cjs ...`): exit when the process whose pid is in
// EXIT_WITH_PARENT is gone, so a test run that is killed outright (no fixture teardown) leaves
// no server behind. Without the variable it does nothing.
'use strict'

const parent = Number.parseInt(process.env.EXIT_WITH_PARENT || '', 10)

if (parent > 0) {
  setInterval(() => {
    try {
      process.kill(parent, 0)
    } catch (error) {
      if (error.code === 'ESRCH') process.exit(0)
    }
  }, 1000).unref()
}
