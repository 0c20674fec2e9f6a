"""The catalogue app: remote books and authors, local orders."""
