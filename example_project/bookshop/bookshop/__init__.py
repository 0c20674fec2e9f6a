"""The bookshop: a Django project whose catalogue lives in a remote books API."""
