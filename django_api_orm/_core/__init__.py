"""The sans-IO core: queries become request plans, responses become data or typed errors.

Nothing here imports httpx, awaits or sleeps; the drivers in :mod:`django_api_orm._transport`
carry out the effects a plan yields.
"""
