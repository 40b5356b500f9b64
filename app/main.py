"""The FastAPI application: ``create_app(settings)`` wires routers and middleware, nothing else."""

from __future__ import annotations

from fastapi import FastAPI

from app.audit.proof_router import router as audit_proof_router
from app.audit.router import citizen_router as access_log_router
from app.audit.router import router as audit_router
from app.config import Settings
from app.conflicts.router import router as conflicts_router
from app.consent.citizen_router import router as my_consents_router
from app.consent.router import router as consents_router
from app.deliveries.router import router as deliveries_router
from app.errors import install_error_handlers
from app.exchange.router import router as records_router
from app.filings.citizen_router import router as my_filings_router
from app.filings.procedures_router import router as procedures_router
from app.filings.router import router as filings_router
from app.filings.stats import router as declare_once_stats_router
from app.health.router import router as health_router
from app.lifecycle import lifespan
from app.middleware import RequestContextMiddleware
from app.observability import HubMetrics
from app.openapi import install_openapi, operation_id
from app.registry.router import router as dictionary_router
from app.registry.router import validation_router
from app.security.router import router as clients_router
from app.sources.router import router as connectors_router
from app.subscriptions.router import admin_router as subscriptions_admin_router
from app.subscriptions.router import router as subscriptions_router

# The data path first: routes are matched in order and it is the hot one.
ROUTERS = [
    records_router,
    health_router,
    clients_router,
    dictionary_router,
    validation_router,
    audit_router,
    audit_proof_router,
    access_log_router,
    consents_router,
    my_consents_router,
    connectors_router,
    procedures_router,
    filings_router,
    my_filings_router,
    declare_once_stats_router,
    deliveries_router,
    conflicts_router,
    subscriptions_router,
    subscriptions_admin_router,
]


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    app = FastAPI(
        title="Declare-Once Hub",
        version="0.1.0",
        summary="Give the state a piece of information once; no agency asks for it again.",
        lifespan=lifespan,
        # FastAPI's default JSON response: a route's response model is documented, and
        # serialised straight to JSON bytes by pydantic.
        generate_unique_id_function=operation_id,
    )
    metrics = HubMetrics()
    # The lifespan's inputs: it builds the Hub from them (app/lifecycle.py).
    app.state.settings = settings
    app.state.metrics = metrics
    install_error_handlers(app)
    for router in ROUTERS:
        app.include_router(router)
    app.add_middleware(
        RequestContextMiddleware,
        metrics=metrics,
        max_body_bytes=settings.max_body_bytes,
        max_batch_body_bytes=settings.max_batch_body_bytes,
    )
    install_openapi(app)
    return app
