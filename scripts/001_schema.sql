-- GPT API schema for Supabase (PostgreSQL), generated from the Alembic migrations.
-- Do not edit: regenerate with `gptapi admin supabase-sql > scripts/001_schema.sql`.
-- Apply it before 002_auth_and_rls.sql. The alembic_version row lets `gptapi migrate`
-- carry the database forward from here.

BEGIN;

CREATE TABLE alembic_version (
    version_num VARCHAR(32) NOT NULL,
    CONSTRAINT alembic_version_pkc PRIMARY KEY (version_num)
);

-- Running upgrade  -> 0001

CREATE TABLE models (
    id BIGSERIAL NOT NULL,
    name VARCHAR(200) NOT NULL,
    internal_name VARCHAR(100) NOT NULL,
    input_price_per_million_tokens BIGINT NOT NULL,
    output_price_per_million_tokens BIGINT NOT NULL,
    kind VARCHAR(20) NOT NULL,
    description VARCHAR(500) NOT NULL,
    active BOOLEAN NOT NULL,
    created_at TIMESTAMP WITH TIME ZONE NOT NULL,
    CONSTRAINT pk_models PRIMARY KEY (id),
    CONSTRAINT ck_models_input_price_nonnegative CHECK (input_price_per_million_tokens >= 0),
    CONSTRAINT ck_models_output_price_nonnegative CHECK (output_price_per_million_tokens >= 0),
    CONSTRAINT uq_models_internal_name UNIQUE (internal_name)
);

CREATE TABLE organizations (
    id UUID NOT NULL,
    name VARCHAR(200) NOT NULL,
    is_personal BOOLEAN NOT NULL,
    is_active BOOLEAN NOT NULL,
    balance_nanos BIGINT NOT NULL,
    default_rpm_limit INTEGER,
    default_tpm_limit INTEGER,
    created_at TIMESTAMP WITH TIME ZONE NOT NULL,
    CONSTRAINT pk_organizations PRIMARY KEY (id)
);

CREATE TABLE servers (
    id BIGSERIAL NOT NULL,
    model_name VARCHAR(100) NOT NULL,
    base_url VARCHAR(500) NOT NULL,
    api_key VARCHAR(500),
    state VARCHAR(20) NOT NULL,
    source VARCHAR(20) NOT NULL,
    created_at TIMESTAMP WITH TIME ZONE NOT NULL,
    CONSTRAINT pk_servers PRIMARY KEY (id),
    CONSTRAINT uq_servers_model_name_base_url UNIQUE (model_name, base_url)
);

CREATE INDEX ix_servers_model_name ON servers (model_name);

CREATE TABLE users (
    id UUID NOT NULL,
    email VARCHAR(320) NOT NULL,
    name VARCHAR(200) NOT NULL,
    password_hash VARCHAR(255),
    is_admin BOOLEAN NOT NULL,
    is_active BOOLEAN NOT NULL,
    created_at TIMESTAMP WITH TIME ZONE NOT NULL,
    CONSTRAINT pk_users PRIMARY KEY (id),
    CONSTRAINT uq_users_email UNIQUE (email)
);

CREATE TABLE api_keys (
    id UUID NOT NULL,
    organization_id UUID NOT NULL,
    user_id UUID NOT NULL,
    name VARCHAR(200) NOT NULL,
    key_prefix VARCHAR(32) NOT NULL,
    key_hash VARCHAR(64) NOT NULL,
    revoked BOOLEAN NOT NULL,
    revoked_at TIMESTAMP WITH TIME ZONE,
    expires_at TIMESTAMP WITH TIME ZONE,
    last_used_at TIMESTAMP WITH TIME ZONE,
    rpm_limit INTEGER,
    tpm_limit INTEGER,
    created_at TIMESTAMP WITH TIME ZONE NOT NULL,
    CONSTRAINT pk_api_keys PRIMARY KEY (id),
    CONSTRAINT fk_api_keys_organization_id_organizations FOREIGN KEY(organization_id) REFERENCES organizations (id) ON DELETE CASCADE,
    CONSTRAINT fk_api_keys_user_id_users FOREIGN KEY(user_id) REFERENCES users (id) ON DELETE CASCADE,
    CONSTRAINT uq_api_keys_key_hash UNIQUE (key_hash),
    CONSTRAINT uq_api_keys_key_prefix UNIQUE (key_prefix)
);

CREATE INDEX ix_api_keys_organization_id ON api_keys (organization_id);

CREATE TABLE credit_transactions (
    id BIGSERIAL NOT NULL,
    organization_id UUID NOT NULL,
    amount_nanos BIGINT NOT NULL,
    kind VARCHAR(20) NOT NULL,
    idempotency_key VARCHAR(200) NOT NULL,
    description VARCHAR(500) NOT NULL,
    created_by UUID,
    created_at TIMESTAMP WITH TIME ZONE NOT NULL,
    CONSTRAINT pk_credit_transactions PRIMARY KEY (id),
    CONSTRAINT fk_credit_transactions_created_by_users FOREIGN KEY(created_by) REFERENCES users (id),
    CONSTRAINT fk_credit_transactions_organization_id_organizations FOREIGN KEY(organization_id) REFERENCES organizations (id),
    CONSTRAINT uq_credit_transactions_idempotency_key UNIQUE (idempotency_key)
);

CREATE INDEX ix_credit_transactions_org_created ON credit_transactions (organization_id, created_at);

CREATE TABLE memberships (
    organization_id UUID NOT NULL,
    user_id UUID NOT NULL,
    role VARCHAR(20) NOT NULL,
    created_at TIMESTAMP WITH TIME ZONE NOT NULL,
    CONSTRAINT pk_memberships PRIMARY KEY (organization_id, user_id),
    CONSTRAINT fk_memberships_organization_id_organizations FOREIGN KEY(organization_id) REFERENCES organizations (id) ON DELETE CASCADE,
    CONSTRAINT fk_memberships_user_id_users FOREIGN KEY(user_id) REFERENCES users (id) ON DELETE CASCADE
);

CREATE INDEX ix_memberships_user_id ON memberships (user_id);

CREATE TABLE usage_logs (
    id BIGSERIAL NOT NULL,
    request_id VARCHAR(64) NOT NULL,
    organization_id UUID NOT NULL,
    api_key_id UUID NOT NULL,
    user_id UUID NOT NULL,
    model_id BIGINT NOT NULL,
    endpoint VARCHAR(40) NOT NULL,
    prompt_tokens INTEGER NOT NULL,
    completion_tokens INTEGER NOT NULL,
    cost_nanos BIGINT NOT NULL,
    status INTEGER NOT NULL,
    outcome VARCHAR(30) NOT NULL,
    metered_by VARCHAR(20) NOT NULL,
    latency_ms INTEGER NOT NULL,
    upstream VARCHAR(500) NOT NULL,
    created_at TIMESTAMP WITH TIME ZONE NOT NULL,
    CONSTRAINT pk_usage_logs PRIMARY KEY (id),
    CONSTRAINT fk_usage_logs_api_key_id_api_keys FOREIGN KEY(api_key_id) REFERENCES api_keys (id),
    CONSTRAINT fk_usage_logs_model_id_models FOREIGN KEY(model_id) REFERENCES models (id),
    CONSTRAINT fk_usage_logs_organization_id_organizations FOREIGN KEY(organization_id) REFERENCES organizations (id),
    CONSTRAINT fk_usage_logs_user_id_users FOREIGN KEY(user_id) REFERENCES users (id),
    CONSTRAINT uq_usage_logs_request_id UNIQUE (request_id)
);

CREATE INDEX ix_usage_logs_key_created ON usage_logs (api_key_id, created_at);

CREATE INDEX ix_usage_logs_org_created ON usage_logs (organization_id, created_at);

INSERT INTO models (name, internal_name, input_price_per_million_tokens, output_price_per_million_tokens, kind, description, active, created_at) VALUES ('gpt-oss-20B', 'gpt-fast', 250, 500, 'chat', 'General purpose', true, now());

INSERT INTO models (name, internal_name, input_price_per_million_tokens, output_price_per_million_tokens, kind, description, active, created_at) VALUES ('gpt-oss-120B', 'gpt-full', 500, 1000, 'chat', 'Advanced reasoning', true, now());

INSERT INTO models (name, internal_name, input_price_per_million_tokens, output_price_per_million_tokens, kind, description, active, created_at) VALUES ('snowflake-arctic-embed2', 'embed', 50, 0, 'embedding', 'Embeddings', true, now());

INSERT INTO alembic_version (version_num) VALUES ('0001') RETURNING alembic_version.version_num;

-- Running upgrade 0001 -> 0002

CREATE TABLE audit_logs (
    id BIGSERIAL NOT NULL,
    actor_user_id UUID,
    organization_id UUID,
    action VARCHAR(80) NOT NULL,
    target_type VARCHAR(40) NOT NULL,
    target_id VARCHAR(64) NOT NULL,
    data JSON NOT NULL,
    ip VARCHAR(64) NOT NULL,
    created_at TIMESTAMP WITH TIME ZONE NOT NULL,
    CONSTRAINT pk_audit_logs PRIMARY KEY (id),
    CONSTRAINT fk_audit_logs_actor_user_id_users FOREIGN KEY(actor_user_id) REFERENCES users (id) ON DELETE SET NULL,
    CONSTRAINT fk_audit_logs_organization_id_organizations FOREIGN KEY(organization_id) REFERENCES organizations (id) ON DELETE CASCADE
);

CREATE INDEX ix_audit_logs_org_created ON audit_logs (organization_id, created_at);

CREATE TABLE user_sessions (
    id VARCHAR(64) NOT NULL,
    user_id UUID NOT NULL,
    created_at TIMESTAMP WITH TIME ZONE NOT NULL,
    last_seen_at TIMESTAMP WITH TIME ZONE NOT NULL,
    expires_at TIMESTAMP WITH TIME ZONE NOT NULL,
    reauthenticated_at TIMESTAMP WITH TIME ZONE,
    ip VARCHAR(64) NOT NULL,
    user_agent VARCHAR(300) NOT NULL,
    CONSTRAINT pk_user_sessions PRIMARY KEY (id),
    CONSTRAINT fk_user_sessions_user_id_users FOREIGN KEY(user_id) REFERENCES users (id) ON DELETE CASCADE
);

CREATE INDEX ix_user_sessions_user_id ON user_sessions (user_id);

ALTER TABLE users ADD COLUMN email_verified_at TIMESTAMP WITH TIME ZONE;

UPDATE alembic_version SET version_num='0002' WHERE alembic_version.version_num = '0001';

-- Running upgrade 0002 -> 0003

CREATE TABLE auth_attempts (
    id BIGSERIAL NOT NULL,
    bucket VARCHAR(64) NOT NULL,
    created_at TIMESTAMP WITH TIME ZONE NOT NULL,
    CONSTRAINT pk_auth_attempts PRIMARY KEY (id)
);

CREATE INDEX ix_auth_attempts_bucket_created ON auth_attempts (bucket, created_at);

CREATE TABLE auth_tokens (
    id VARCHAR(64) NOT NULL,
    user_id UUID NOT NULL,
    purpose VARCHAR(20) NOT NULL,
    new_email VARCHAR(320) NOT NULL,
    created_at TIMESTAMP WITH TIME ZONE NOT NULL,
    expires_at TIMESTAMP WITH TIME ZONE NOT NULL,
    CONSTRAINT pk_auth_tokens PRIMARY KEY (id),
    CONSTRAINT fk_auth_tokens_user_id_users FOREIGN KEY(user_id) REFERENCES users (id) ON DELETE CASCADE
);

CREATE INDEX ix_auth_tokens_expires_at ON auth_tokens (expires_at);

CREATE INDEX ix_auth_tokens_user_id ON auth_tokens (user_id);

CREATE TABLE recovery_codes (
    id BIGSERIAL NOT NULL,
    user_id UUID NOT NULL,
    code_hash VARCHAR(64) NOT NULL,
    CONSTRAINT pk_recovery_codes PRIMARY KEY (id),
    CONSTRAINT fk_recovery_codes_user_id_users FOREIGN KEY(user_id) REFERENCES users (id) ON DELETE CASCADE
);

CREATE INDEX ix_recovery_codes_user_id ON recovery_codes (user_id);

ALTER TABLE users ADD COLUMN password_changed_at TIMESTAMP WITH TIME ZONE;

ALTER TABLE users ADD COLUMN totp_secret VARCHAR(255);

ALTER TABLE users ADD COLUMN totp_enabled_at TIMESTAMP WITH TIME ZONE;

ALTER TABLE users ADD COLUMN totp_last_step BIGINT;

UPDATE alembic_version SET version_num='0003' WHERE alembic_version.version_num = '0002';

-- Running upgrade 0003 -> 0004

CREATE TABLE oauth_identities (
    id BIGSERIAL NOT NULL,
    provider VARCHAR(20) NOT NULL,
    provider_user_id VARCHAR(255) NOT NULL,
    user_id UUID NOT NULL,
    email VARCHAR(320) NOT NULL,
    created_at TIMESTAMP WITH TIME ZONE NOT NULL,
    CONSTRAINT pk_oauth_identities PRIMARY KEY (id),
    CONSTRAINT fk_oauth_identities_user_id_users FOREIGN KEY(user_id) REFERENCES users (id) ON DELETE CASCADE,
    CONSTRAINT uq_oauth_identities_provider_provider_user_id UNIQUE (provider, provider_user_id)
);

CREATE INDEX ix_oauth_identities_user_id ON oauth_identities (user_id);

UPDATE alembic_version SET version_num='0004' WHERE alembic_version.version_num = '0003';

-- Running upgrade 0004 -> 0005

CREATE TABLE invitations (
    id UUID NOT NULL,
    organization_id UUID NOT NULL,
    email VARCHAR(320) NOT NULL,
    role VARCHAR(20) NOT NULL,
    token_hash VARCHAR(64) NOT NULL,
    invited_by UUID,
    created_at TIMESTAMP WITH TIME ZONE NOT NULL,
    expires_at TIMESTAMP WITH TIME ZONE NOT NULL,
    accepted_at TIMESTAMP WITH TIME ZONE,
    CONSTRAINT pk_invitations PRIMARY KEY (id),
    CONSTRAINT fk_invitations_invited_by_users FOREIGN KEY(invited_by) REFERENCES users (id) ON DELETE SET NULL,
    CONSTRAINT fk_invitations_organization_id_organizations FOREIGN KEY(organization_id) REFERENCES organizations (id) ON DELETE CASCADE,
    CONSTRAINT uq_invitations_token_hash UNIQUE (token_hash)
);

CREATE INDEX ix_invitations_org_email ON invitations (organization_id, email);

ALTER TABLE api_keys ADD COLUMN monthly_spend_cap_nanos BIGINT;

ALTER TABLE api_keys ADD COLUMN allowed_models JSON;

ALTER TABLE organizations ADD COLUMN deleted_at TIMESTAMP WITH TIME ZONE;

ALTER TABLE memberships ADD COLUMN selected_at TIMESTAMP WITH TIME ZONE;

UPDATE alembic_version SET version_num='0005' WHERE alembic_version.version_num = '0004';

-- Running upgrade 0005 -> 0006

CREATE TABLE model_prices (
    id BIGSERIAL NOT NULL,
    model_id BIGINT NOT NULL,
    input_price_per_million_tokens BIGINT NOT NULL,
    output_price_per_million_tokens BIGINT NOT NULL,
    effective_from TIMESTAMP WITH TIME ZONE NOT NULL,
    created_by UUID,
    created_at TIMESTAMP WITH TIME ZONE NOT NULL,
    CONSTRAINT pk_model_prices PRIMARY KEY (id),
    CONSTRAINT ck_model_prices_input_price_nonnegative CHECK (input_price_per_million_tokens >= 0),
    CONSTRAINT ck_model_prices_output_price_nonnegative CHECK (output_price_per_million_tokens >= 0),
    CONSTRAINT fk_model_prices_created_by_users FOREIGN KEY(created_by) REFERENCES users (id) ON DELETE SET NULL,
    CONSTRAINT fk_model_prices_model_id_models FOREIGN KEY(model_id) REFERENCES models (id) ON DELETE CASCADE,
    CONSTRAINT uq_model_prices_model_id_effective_from UNIQUE (model_id, effective_from)
);

CREATE TABLE usage_hourly (
    organization_id UUID NOT NULL,
    hour TIMESTAMP WITH TIME ZONE NOT NULL,
    api_key_id UUID NOT NULL,
    model_id BIGINT NOT NULL,
    requests BIGINT NOT NULL,
    prompt_tokens BIGINT NOT NULL,
    completion_tokens BIGINT NOT NULL,
    cost_nanos BIGINT NOT NULL,
    CONSTRAINT pk_usage_hourly PRIMARY KEY (organization_id, hour, api_key_id, model_id),
    CONSTRAINT fk_usage_hourly_api_key_id_api_keys FOREIGN KEY(api_key_id) REFERENCES api_keys (id),
    CONSTRAINT fk_usage_hourly_model_id_models FOREIGN KEY(model_id) REFERENCES models (id),
    CONSTRAINT fk_usage_hourly_organization_id_organizations FOREIGN KEY(organization_id) REFERENCES organizations (id)
);

INSERT INTO usage_hourly (organization_id, hour, api_key_id, model_id, requests, prompt_tokens, completion_tokens, cost_nanos) SELECT organization_id, date_trunc('hour', created_at AT TIME ZONE 'UTC') AT TIME ZONE 'UTC', api_key_id, model_id, count(*), sum(prompt_tokens), sum(completion_tokens), sum(cost_nanos) FROM usage_logs GROUP BY organization_id, date_trunc('hour', created_at AT TIME ZONE 'UTC') AT TIME ZONE 'UTC', api_key_id, model_id;

UPDATE alembic_version SET version_num='0006' WHERE alembic_version.version_num = '0005';

-- Running upgrade 0006 -> 0007

CREATE TABLE webhook_endpoints (
    id UUID NOT NULL,
    organization_id UUID NOT NULL,
    url VARCHAR(2000) NOT NULL,
    description VARCHAR(500) NOT NULL,
    event_types JSON NOT NULL,
    enabled BOOLEAN NOT NULL,
    disabled_reason VARCHAR(40) NOT NULL,
    secret VARCHAR(300) NOT NULL,
    previous_secret VARCHAR(300),
    previous_secret_expires_at TIMESTAMP WITH TIME ZONE,
    failing_since TIMESTAMP WITH TIME ZONE,
    created_at TIMESTAMP WITH TIME ZONE NOT NULL,
    updated_at TIMESTAMP WITH TIME ZONE NOT NULL,
    CONSTRAINT pk_webhook_endpoints PRIMARY KEY (id),
    CONSTRAINT fk_webhook_endpoints_organization_id_organizations FOREIGN KEY(organization_id) REFERENCES organizations (id) ON DELETE CASCADE
);

CREATE INDEX ix_webhook_endpoints_organization_id ON webhook_endpoints (organization_id);

CREATE TABLE webhook_events (
    id UUID NOT NULL,
    organization_id UUID,
    event_type VARCHAR(80) NOT NULL,
    data JSON NOT NULL,
    dedupe_key VARCHAR(200),
    fanned_out BOOLEAN NOT NULL,
    created_at TIMESTAMP WITH TIME ZONE NOT NULL,
    CONSTRAINT pk_webhook_events PRIMARY KEY (id),
    CONSTRAINT fk_webhook_events_organization_id_organizations FOREIGN KEY(organization_id) REFERENCES organizations (id) ON DELETE CASCADE,
    CONSTRAINT uq_webhook_events_dedupe_key UNIQUE (dedupe_key)
);

CREATE INDEX ix_webhook_events_pending ON webhook_events (fanned_out, created_at);

CREATE INDEX ix_webhook_events_org_created ON webhook_events (organization_id, created_at);

CREATE TABLE webhook_deliveries (
    id UUID NOT NULL,
    endpoint_id UUID NOT NULL,
    event_id UUID NOT NULL,
    status VARCHAR(20) NOT NULL,
    attempts INTEGER NOT NULL,
    next_attempt_at TIMESTAMP WITH TIME ZONE,
    lease_owner VARCHAR(64),
    lease_expires_at TIMESTAMP WITH TIME ZONE,
    last_response_status INTEGER,
    created_at TIMESTAMP WITH TIME ZONE NOT NULL,
    updated_at TIMESTAMP WITH TIME ZONE NOT NULL,
    CONSTRAINT pk_webhook_deliveries PRIMARY KEY (id),
    CONSTRAINT fk_webhook_deliveries_endpoint_id_webhook_endpoints FOREIGN KEY(endpoint_id) REFERENCES webhook_endpoints (id) ON DELETE CASCADE,
    CONSTRAINT fk_webhook_deliveries_event_id_webhook_events FOREIGN KEY(event_id) REFERENCES webhook_events (id) ON DELETE CASCADE,
    CONSTRAINT uq_webhook_deliveries_endpoint_id_event_id UNIQUE (endpoint_id, event_id)
);

CREATE INDEX ix_webhook_deliveries_due ON webhook_deliveries (status, next_attempt_at);

CREATE INDEX ix_webhook_deliveries_endpoint_created ON webhook_deliveries (endpoint_id, created_at);

CREATE INDEX ix_webhook_deliveries_event_id ON webhook_deliveries (event_id);

CREATE TABLE webhook_attempts (
    id BIGSERIAL NOT NULL,
    delivery_id UUID NOT NULL,
    attempt INTEGER NOT NULL,
    url VARCHAR(2000) NOT NULL,
    request_headers JSON NOT NULL,
    response_status INTEGER,
    response_body TEXT NOT NULL,
    error VARCHAR(500) NOT NULL,
    latency_ms INTEGER NOT NULL,
    created_at TIMESTAMP WITH TIME ZONE NOT NULL,
    CONSTRAINT pk_webhook_attempts PRIMARY KEY (id),
    CONSTRAINT fk_webhook_attempts_delivery_id_webhook_deliveries FOREIGN KEY(delivery_id) REFERENCES webhook_deliveries (id) ON DELETE CASCADE
);

CREATE INDEX ix_webhook_attempts_delivery_id ON webhook_attempts (delivery_id);

CREATE TABLE webhook_cursors (
    name VARCHAR(40) NOT NULL,
    position BIGINT NOT NULL,
    CONSTRAINT pk_webhook_cursors PRIMARY KEY (name)
);

UPDATE alembic_version SET version_num='0007' WHERE alembic_version.version_num = '0006';

-- Running upgrade 0007 -> 0008

CREATE TABLE services (
    id SERIAL NOT NULL,
    key VARCHAR(120) NOT NULL,
    name VARCHAR(200) NOT NULL,
    description VARCHAR(500),
    status VARCHAR(30) NOT NULL,
    latency_ms INTEGER,
    details JSON NOT NULL,
    position INTEGER NOT NULL,
    active BOOLEAN NOT NULL,
    last_updated TIMESTAMP WITH TIME ZONE NOT NULL,
    CONSTRAINT pk_services PRIMARY KEY (id),
    CONSTRAINT ck_services_status_known CHECK (status IN ('operational', 'degraded_performance', 'partial_outage', 'major_outage')),
    CONSTRAINT uq_services_key UNIQUE (key)
);

CREATE TABLE incidents (
    id BIGSERIAL NOT NULL,
    title VARCHAR(200) NOT NULL,
    status VARCHAR(20) NOT NULL,
    severity VARCHAR(20) NOT NULL,
    service_id INTEGER,
    automatic BOOLEAN NOT NULL,
    created_at TIMESTAMP WITH TIME ZONE NOT NULL,
    updated_at TIMESTAMP WITH TIME ZONE NOT NULL,
    resolved_at TIMESTAMP WITH TIME ZONE,
    CONSTRAINT pk_incidents PRIMARY KEY (id),
    CONSTRAINT ck_incidents_severity_known CHECK (severity IN ('critical', 'high', 'medium', 'low')),
    CONSTRAINT ck_incidents_status_known CHECK (status IN ('investigating', 'identified', 'monitoring', 'resolved')),
    CONSTRAINT fk_incidents_service_id_services FOREIGN KEY(service_id) REFERENCES services (id) ON DELETE SET NULL
);

CREATE INDEX ix_incidents_created_at ON incidents (created_at);

CREATE INDEX ix_incidents_service_status ON incidents (service_id, status);

CREATE TABLE service_latency_samples (
    service_id INTEGER NOT NULL,
    bucket BIGINT NOT NULL,
    latency_ms_sum BIGINT NOT NULL,
    samples INTEGER NOT NULL,
    CONSTRAINT pk_service_latency_samples PRIMARY KEY (service_id, bucket),
    CONSTRAINT fk_service_latency_samples_service_id_services FOREIGN KEY(service_id) REFERENCES services (id) ON DELETE CASCADE
);

CREATE TABLE service_uptime_daily (
    service_id INTEGER NOT NULL,
    day DATE NOT NULL,
    checks_total INTEGER NOT NULL,
    checks_operational INTEGER NOT NULL,
    checks_degraded INTEGER NOT NULL,
    checks_partial INTEGER NOT NULL,
    checks_major INTEGER NOT NULL,
    latency_ms_sum BIGINT NOT NULL,
    latency_samples INTEGER NOT NULL,
    latency_ms_max INTEGER NOT NULL,
    CONSTRAINT pk_service_uptime_daily PRIMARY KEY (service_id, day),
    CONSTRAINT fk_service_uptime_daily_service_id_services FOREIGN KEY(service_id) REFERENCES services (id) ON DELETE CASCADE
);

CREATE TABLE incident_updates (
    id BIGSERIAL NOT NULL,
    incident_id BIGINT NOT NULL,
    description VARCHAR(5000) NOT NULL,
    status_at_update VARCHAR(20) NOT NULL,
    created_at TIMESTAMP WITH TIME ZONE NOT NULL,
    CONSTRAINT pk_incident_updates PRIMARY KEY (id),
    CONSTRAINT ck_incident_updates_status_known CHECK (status_at_update IN ('investigating', 'identified', 'monitoring', 'resolved')),
    CONSTRAINT fk_incident_updates_incident_id_incidents FOREIGN KEY(incident_id) REFERENCES incidents (id) ON DELETE CASCADE
);

CREATE INDEX ix_incident_updates_incident_id ON incident_updates (incident_id);

UPDATE alembic_version SET version_num='0008' WHERE alembic_version.version_num = '0007';

-- Running upgrade 0008 -> 0009

CREATE TABLE stripe_events (
    id VARCHAR(255) NOT NULL,
    type VARCHAR(100) NOT NULL,
    processed_at TIMESTAMP WITH TIME ZONE NOT NULL,
    CONSTRAINT pk_stripe_events PRIMARY KEY (id)
);

CREATE TABLE billing_accounts (
    organization_id UUID NOT NULL,
    stripe_customer_id VARCHAR(100),
    payment_method_id VARCHAR(100),
    payment_method_label VARCHAR(100) NOT NULL,
    consent_at TIMESTAMP WITH TIME ZONE,
    consent_by UUID,
    auto_refill_enabled BOOLEAN NOT NULL,
    auto_refill_threshold_nanos BIGINT NOT NULL,
    auto_refill_amount_nanos BIGINT NOT NULL,
    auto_refill_monthly_cap_nanos BIGINT,
    auto_refill_disabled_reason VARCHAR(300) NOT NULL,
    refill_started_at TIMESTAMP WITH TIME ZONE,
    refill_seq INTEGER NOT NULL,
    low_balance_threshold_nanos BIGINT,
    balance_state VARCHAR(20) NOT NULL,
    updated_at TIMESTAMP WITH TIME ZONE NOT NULL,
    CONSTRAINT pk_billing_accounts PRIMARY KEY (organization_id),
    CONSTRAINT fk_billing_accounts_consent_by_users FOREIGN KEY(consent_by) REFERENCES users (id),
    CONSTRAINT fk_billing_accounts_organization_id_organizations FOREIGN KEY(organization_id) REFERENCES organizations (id),
    CONSTRAINT uq_billing_accounts_stripe_customer_id UNIQUE (stripe_customer_id)
);

CREATE TABLE stripe_payments (
    id BIGSERIAL NOT NULL,
    organization_id UUID NOT NULL,
    kind VARCHAR(20) NOT NULL,
    checkout_session_id VARCHAR(255),
    payment_intent_id VARCHAR(255),
    amount_cents BIGINT NOT NULL,
    status VARCHAR(20) NOT NULL,
    refunded_cents BIGINT NOT NULL,
    receipt_url VARCHAR(1000) NOT NULL,
    failure_message VARCHAR(500) NOT NULL,
    created_by UUID,
    created_at TIMESTAMP WITH TIME ZONE NOT NULL,
    updated_at TIMESTAMP WITH TIME ZONE NOT NULL,
    CONSTRAINT pk_stripe_payments PRIMARY KEY (id),
    CONSTRAINT fk_stripe_payments_created_by_users FOREIGN KEY(created_by) REFERENCES users (id),
    CONSTRAINT fk_stripe_payments_organization_id_organizations FOREIGN KEY(organization_id) REFERENCES organizations (id),
    CONSTRAINT uq_stripe_payments_checkout_session_id UNIQUE (checkout_session_id),
    CONSTRAINT uq_stripe_payments_payment_intent_id UNIQUE (payment_intent_id)
);

CREATE INDEX ix_stripe_payments_org_created ON stripe_payments (organization_id, created_at);

UPDATE alembic_version SET version_num='0009' WHERE alembic_version.version_num = '0008';

-- Running upgrade 0009 -> 0010

CREATE TABLE contact_messages (
    id BIGSERIAL NOT NULL,
    name VARCHAR(200) NOT NULL,
    email VARCHAR(320) NOT NULL,
    message TEXT NOT NULL,
    user_id UUID,
    ip VARCHAR(64) NOT NULL,
    created_at TIMESTAMP WITH TIME ZONE NOT NULL,
    CONSTRAINT pk_contact_messages PRIMARY KEY (id),
    CONSTRAINT fk_contact_messages_user_id_users FOREIGN KEY(user_id) REFERENCES users (id) ON DELETE SET NULL
);

CREATE INDEX ix_contact_messages_user_id ON contact_messages (user_id);

UPDATE alembic_version SET version_num='0010' WHERE alembic_version.version_num = '0009';

-- Running upgrade 0010 -> 0014

CREATE TABLE subscriptions (
    id UUID NOT NULL,
    organization_id UUID NOT NULL,
    user_id UUID NOT NULL,
    stripe_subscription_id VARCHAR(255),
    plan VARCHAR(50) NOT NULL,
    stripe_price_id VARCHAR(255) NOT NULL,
    status VARCHAR(20) NOT NULL,
    current_period_start TIMESTAMP WITH TIME ZONE NOT NULL,
    current_period_end TIMESTAMP WITH TIME ZONE NOT NULL,
    cancel_at_period_end BOOLEAN NOT NULL,
    past_due_since TIMESTAMP WITH TIME ZONE,
    ended_at TIMESTAMP WITH TIME ZONE,
    created_at TIMESTAMP WITH TIME ZONE NOT NULL,
    updated_at TIMESTAMP WITH TIME ZONE,
    CONSTRAINT pk_subscriptions PRIMARY KEY (id),
    CONSTRAINT ck_subscriptions_status_known CHECK (status IN ('active', 'trialing', 'past_due', 'canceled', 'unpaid')),
    CONSTRAINT fk_subscriptions_organization_id_organizations FOREIGN KEY(organization_id) REFERENCES organizations (id),
    CONSTRAINT fk_subscriptions_user_id_users FOREIGN KEY(user_id) REFERENCES users (id) ON DELETE CASCADE,
    CONSTRAINT uq_subscriptions_stripe_subscription_id UNIQUE (stripe_subscription_id)
);

CREATE INDEX ix_subscriptions_org_created ON subscriptions (organization_id, created_at);

CREATE TABLE subscription_invoices (
    id BIGSERIAL NOT NULL,
    organization_id UUID NOT NULL,
    subscription_id UUID NOT NULL,
    stripe_invoice_id VARCHAR(255) NOT NULL,
    plan VARCHAR(50) NOT NULL,
    amount_paid_cents BIGINT NOT NULL,
    credit_nanos BIGINT NOT NULL,
    period_start TIMESTAMP WITH TIME ZONE NOT NULL,
    period_end TIMESTAMP WITH TIME ZONE NOT NULL,
    hosted_invoice_url VARCHAR(1000) NOT NULL,
    paid_at TIMESTAMP WITH TIME ZONE NOT NULL,
    CONSTRAINT pk_subscription_invoices PRIMARY KEY (id),
    CONSTRAINT fk_subscription_invoices_organization_id_organizations FOREIGN KEY(organization_id) REFERENCES organizations (id),
    CONSTRAINT fk_subscription_invoices_subscription_id_subscriptions FOREIGN KEY(subscription_id) REFERENCES subscriptions (id),
    CONSTRAINT uq_subscription_invoices_stripe_invoice_id UNIQUE (stripe_invoice_id)
);

CREATE INDEX ix_subscription_invoices_org_paid ON subscription_invoices (organization_id, paid_at);

CREATE TABLE crypto_charges (
    id BIGSERIAL NOT NULL,
    organization_id UUID NOT NULL,
    charge_id VARCHAR(100) NOT NULL,
    code VARCHAR(50) NOT NULL,
    amount_cents BIGINT NOT NULL,
    received_cents BIGINT NOT NULL,
    credited_cents BIGINT NOT NULL,
    status VARCHAR(20) NOT NULL,
    hosted_url VARCHAR(1000) NOT NULL,
    expires_at TIMESTAMP WITH TIME ZONE,
    created_by UUID,
    created_at TIMESTAMP WITH TIME ZONE NOT NULL,
    updated_at TIMESTAMP WITH TIME ZONE NOT NULL,
    CONSTRAINT pk_crypto_charges PRIMARY KEY (id),
    CONSTRAINT fk_crypto_charges_created_by_users FOREIGN KEY(created_by) REFERENCES users (id),
    CONSTRAINT fk_crypto_charges_organization_id_organizations FOREIGN KEY(organization_id) REFERENCES organizations (id),
    CONSTRAINT uq_crypto_charges_charge_id UNIQUE (charge_id)
);

CREATE INDEX ix_crypto_charges_org_created ON crypto_charges (organization_id, created_at);

CREATE TABLE crypto_events (
    id VARCHAR(100) NOT NULL,
    type VARCHAR(50) NOT NULL,
    processed_at TIMESTAMP WITH TIME ZONE NOT NULL,
    CONSTRAINT pk_crypto_events PRIMARY KEY (id)
);

CREATE TABLE notification_preferences (
    user_id UUID NOT NULL,
    category VARCHAR(30) NOT NULL,
    enabled BOOLEAN NOT NULL,
    updated_at TIMESTAMP WITH TIME ZONE NOT NULL,
    CONSTRAINT pk_notification_preferences PRIMARY KEY (user_id, category),
    CONSTRAINT fk_notification_preferences_user_id_users FOREIGN KEY(user_id) REFERENCES users (id) ON DELETE CASCADE
);

ALTER TABLE api_keys ADD COLUMN test_mode BOOLEAN DEFAULT false NOT NULL;

ALTER TABLE usage_logs ADD COLUMN test_mode BOOLEAN DEFAULT false NOT NULL;

UPDATE alembic_version SET version_num='0014' WHERE alembic_version.version_num = '0010';

-- Running upgrade 0014 -> 0015

ALTER TABLE api_keys ADD COLUMN purpose VARCHAR(20) DEFAULT 'api' NOT NULL;

CREATE TABLE status_subscribers (
    id BIGSERIAL NOT NULL,
    email VARCHAR(320) NOT NULL,
    token_hash VARCHAR(64) NOT NULL,
    confirmed_at TIMESTAMP WITH TIME ZONE,
    last_update_id BIGINT NOT NULL,
    created_at TIMESTAMP WITH TIME ZONE NOT NULL,
    CONSTRAINT pk_status_subscribers PRIMARY KEY (id),
    CONSTRAINT uq_status_subscribers_email UNIQUE (email),
    CONSTRAINT uq_status_subscribers_token_hash UNIQUE (token_hash)
);

UPDATE alembic_version SET version_num='0015' WHERE alembic_version.version_num = '0014';

-- Running upgrade 0015 -> 0016

CREATE TABLE deployments (
    id VARCHAR(40) NOT NULL,
    organization_id UUID NOT NULL,
    name VARCHAR(100) NOT NULL,
    catalog_slug VARCHAR(100) NOT NULL,
    provider VARCHAR(20) NOT NULL,
    mode VARCHAR(20) NOT NULL,
    min_replicas INTEGER NOT NULL,
    max_replicas INTEGER NOT NULL,
    idle_timeout_seconds INTEGER NOT NULL,
    state VARCHAR(20) NOT NULL,
    state_reason VARCHAR(500) NOT NULL,
    instance_id VARCHAR(100),
    url VARCHAR(500),
    upstream_key VARCHAR(100),
    model_id BIGINT NOT NULL,
    price_nanos_per_hour BIGINT NOT NULL,
    created_by UUID,
    created_at TIMESTAMP WITH TIME ZONE NOT NULL,
    updated_at TIMESTAMP WITH TIME ZONE NOT NULL,
    start_requested_at TIMESTAMP WITH TIME ZONE,
    ready_at TIMESTAMP WITH TIME ZONE,
    deleted_at TIMESTAMP WITH TIME ZONE,
    CONSTRAINT pk_deployments PRIMARY KEY (id),
    CONSTRAINT fk_deployments_created_by_users FOREIGN KEY(created_by) REFERENCES users (id),
    CONSTRAINT fk_deployments_model_id_models FOREIGN KEY(model_id) REFERENCES models (id),
    CONSTRAINT fk_deployments_organization_id_organizations FOREIGN KEY(organization_id) REFERENCES organizations (id)
);

CREATE INDEX ix_deployments_org_name ON deployments (organization_id, name);

CREATE INDEX ix_deployments_state ON deployments (state);

CREATE TABLE deployment_runs (
    id BIGSERIAL NOT NULL,
    deployment_id VARCHAR(40) NOT NULL,
    organization_id UUID NOT NULL,
    price_nanos_per_hour BIGINT NOT NULL,
    started_at TIMESTAMP WITH TIME ZONE NOT NULL,
    last_seen_at TIMESTAMP WITH TIME ZONE NOT NULL,
    ended_at TIMESTAMP WITH TIME ZONE,
    billed_seconds INTEGER NOT NULL,
    charged_nanos BIGINT NOT NULL,
    CONSTRAINT pk_deployment_runs PRIMARY KEY (id),
    CONSTRAINT fk_deployment_runs_deployment_id_deployments FOREIGN KEY(deployment_id) REFERENCES deployments (id),
    CONSTRAINT fk_deployment_runs_organization_id_organizations FOREIGN KEY(organization_id) REFERENCES organizations (id)
);

CREATE INDEX ix_deployment_runs_deployment_id ON deployment_runs (deployment_id);

CREATE INDEX ix_deployment_runs_ended_at ON deployment_runs (ended_at);

UPDATE alembic_version SET version_num='0016' WHERE alembic_version.version_num = '0015';

-- Running upgrade 0016 -> 0017

ALTER TABLE usage_logs ADD COLUMN hold_nanos BIGINT DEFAULT '0' NOT NULL;

ALTER TABLE usage_logs ADD COLUMN over_hold_nanos BIGINT DEFAULT '0' NOT NULL;

UPDATE usage_logs SET hold_nanos = cost_nanos;

UPDATE alembic_version SET version_num='0017' WHERE alembic_version.version_num = '0016';

-- Running upgrade 0017 -> 0018

CREATE TABLE stored_responses (
    id VARCHAR(64) NOT NULL,
    organization_id UUID NOT NULL,
    created_at TIMESTAMP WITH TIME ZONE NOT NULL,
    history JSON NOT NULL,
    response JSON NOT NULL,
    CONSTRAINT pk_stored_responses PRIMARY KEY (id),
    CONSTRAINT fk_stored_responses_organization_id_organizations FOREIGN KEY(organization_id) REFERENCES organizations (id) ON DELETE CASCADE
);

CREATE INDEX ix_stored_responses_org_created ON stored_responses (organization_id, created_at);

UPDATE alembic_version SET version_num='0018' WHERE alembic_version.version_num = '0017';

-- Running upgrade 0018 -> 0019

CREATE TABLE pods (
    id VARCHAR(40) NOT NULL,
    organization_id UUID NOT NULL,
    name VARCHAR(100) NOT NULL,
    provider VARCHAR(20) NOT NULL,
    image VARCHAR(255) NOT NULL,
    gpu_type VARCHAR(100) NOT NULL,
    gpu_count INTEGER NOT NULL,
    cloud_type VARCHAR(20) NOT NULL,
    storage_gb INTEGER NOT NULL,
    ports JSON NOT NULL,
    env JSON NOT NULL,
    gpu_nanos_per_hour BIGINT NOT NULL,
    storage_nanos_per_hour BIGINT NOT NULL,
    state VARCHAR(20) NOT NULL,
    state_reason VARCHAR(500) NOT NULL,
    instance_id VARCHAR(100),
    connection JSON,
    created_by UUID,
    created_at TIMESTAMP WITH TIME ZONE NOT NULL,
    updated_at TIMESTAMP WITH TIME ZONE NOT NULL,
    start_requested_at TIMESTAMP WITH TIME ZONE,
    ready_at TIMESTAMP WITH TIME ZONE,
    terminated_at TIMESTAMP WITH TIME ZONE,
    CONSTRAINT pk_pods PRIMARY KEY (id),
    CONSTRAINT fk_pods_created_by_users FOREIGN KEY(created_by) REFERENCES users (id),
    CONSTRAINT fk_pods_organization_id_organizations FOREIGN KEY(organization_id) REFERENCES organizations (id)
);

CREATE INDEX ix_pods_org_created ON pods (organization_id, created_at);

CREATE INDEX ix_pods_state ON pods (state);

CREATE TABLE pod_runs (
    id BIGSERIAL NOT NULL,
    pod_id VARCHAR(40) NOT NULL,
    kind VARCHAR(20) NOT NULL,
    organization_id UUID NOT NULL,
    price_nanos_per_hour BIGINT NOT NULL,
    started_at TIMESTAMP WITH TIME ZONE NOT NULL,
    last_seen_at TIMESTAMP WITH TIME ZONE NOT NULL,
    ended_at TIMESTAMP WITH TIME ZONE,
    billed_seconds INTEGER NOT NULL,
    charged_nanos BIGINT NOT NULL,
    reported_seconds INTEGER DEFAULT '0' NOT NULL,
    reported_nanos BIGINT DEFAULT '0' NOT NULL,
    CONSTRAINT pk_pod_runs PRIMARY KEY (id),
    CONSTRAINT fk_pod_runs_pod_id_pods FOREIGN KEY(pod_id) REFERENCES pods (id),
    CONSTRAINT fk_pod_runs_organization_id_organizations FOREIGN KEY(organization_id) REFERENCES organizations (id)
);

CREATE INDEX ix_pod_runs_pod_id ON pod_runs (pod_id);

CREATE INDEX ix_pod_runs_ended_at ON pod_runs (ended_at);

UPDATE alembic_version SET version_num='0019' WHERE alembic_version.version_num = '0018';

-- Running upgrade 0019 -> 0020

ALTER TABLE api_keys ADD COLUMN scopes JSON;

CREATE TABLE compute_catalog_entries (
    slug VARCHAR(100) NOT NULL,
    name VARCHAR(200) NOT NULL,
    category VARCHAR(30) NOT NULL,
    provider VARCHAR(20) NOT NULL,
    gpu_type VARCHAR(100) NOT NULL,
    gpu_count INTEGER NOT NULL,
    price_nanos_per_hour BIGINT NOT NULL,
    storage_gb INTEGER NOT NULL,
    description VARCHAR(500) NOT NULL,
    model VARCHAR(200),
    image VARCHAR(255),
    args JSON NOT NULL,
    enabled BOOLEAN DEFAULT true NOT NULL,
    position INTEGER NOT NULL,
    updated_at TIMESTAMP WITH TIME ZONE NOT NULL,
    CONSTRAINT pk_compute_catalog_entries PRIMARY KEY (slug)
);

CREATE TABLE gpu_prices (
    gpu_type VARCHAR(100) NOT NULL,
    memory_gb INTEGER NOT NULL,
    community_nanos_per_hour BIGINT NOT NULL,
    secure_nanos_per_hour BIGINT NOT NULL,
    enabled BOOLEAN DEFAULT true NOT NULL,
    updated_at TIMESTAMP WITH TIME ZONE NOT NULL,
    CONSTRAINT pk_gpu_prices PRIMARY KEY (gpu_type)
);

CREATE TABLE compute_rates (
    name VARCHAR(50) NOT NULL,
    nanos BIGINT NOT NULL,
    updated_at TIMESTAMP WITH TIME ZONE NOT NULL,
    CONSTRAINT pk_compute_rates PRIMARY KEY (name)
);

ALTER TABLE deployment_runs ADD COLUMN reported_seconds INTEGER DEFAULT '0' NOT NULL;

ALTER TABLE deployment_runs ADD COLUMN reported_nanos BIGINT DEFAULT '0' NOT NULL;

ALTER TABLE billing_accounts ADD COLUMN runway_state VARCHAR(20) DEFAULT 'ok' NOT NULL;

INSERT INTO compute_catalog_entries (slug, name, category, provider, gpu_type, description, model, image, gpu_count, price_nanos_per_hour, storage_gb, position, args, enabled, updated_at) VALUES ('smollm2-135m', 'SmolLM2 135M Instruct', 'chat', 'local', 'CPU', 'A small chat model served by llama.cpp on this platform''s own host.', 'smollm2-135m', NULL, 0, 50000000, 0, 0, '[]', true, now());

INSERT INTO compute_catalog_entries (slug, name, category, provider, gpu_type, description, model, image, gpu_count, price_nanos_per_hour, storage_gb, position, args, enabled, updated_at) VALUES ('llama-3.1-70b', 'Llama 3.1 70B Instruct', 'chat', 'runpod', 'NVIDIA A100 80GB PCIe', 'Meta''s 70B instruction model, Q4_K_M.', NULL, 'ghcr.io/ggml-org/llama.cpp:server-cuda', 1, 1990000000, 50, 1, '["-hf", "bartowski/Meta-Llama-3.1-70B-Instruct-GGUF:Q4_K_M", "--host", "0.0.0.0", "--port", "8080", "-ngl", "99", "--metrics", "-np", "4", "-c", "16384"]', true, now());

INSERT INTO compute_catalog_entries (slug, name, category, provider, gpu_type, description, model, image, gpu_count, price_nanos_per_hour, storage_gb, position, args, enabled, updated_at) VALUES ('llama-3.1-8b', 'Llama 3.1 8B Instruct', 'chat', 'runpod', 'NVIDIA GeForce RTX 4090', 'Meta''s 8B instruction model, Q8_0.', NULL, 'ghcr.io/ggml-org/llama.cpp:server-cuda', 1, 390000000, 20, 2, '["-hf", "bartowski/Meta-Llama-3.1-8B-Instruct-GGUF:Q8_0", "--host", "0.0.0.0", "--port", "8080", "-ngl", "99", "--metrics", "-np", "4", "-c", "16384"]', true, now());

INSERT INTO compute_catalog_entries (slug, name, category, provider, gpu_type, description, model, image, gpu_count, price_nanos_per_hour, storage_gb, position, args, enabled, updated_at) VALUES ('mistral-7b', 'Mistral 7B Instruct', 'chat', 'runpod', 'NVIDIA GeForce RTX 4090', 'Mistral AI''s 7B instruction model v0.3, Q8_0.', NULL, 'ghcr.io/ggml-org/llama.cpp:server-cuda', 1, 450000000, 20, 3, '["-hf", "bartowski/Mistral-7B-Instruct-v0.3-GGUF:Q8_0", "--host", "0.0.0.0", "--port", "8080", "-ngl", "99", "--metrics", "-np", "4", "-c", "16384"]', true, now());

INSERT INTO compute_catalog_entries (slug, name, category, provider, gpu_type, description, model, image, gpu_count, price_nanos_per_hour, storage_gb, position, args, enabled, updated_at) VALUES ('qwen2.5-72b', 'Qwen2.5 72B Instruct', 'chat', 'runpod', 'NVIDIA A100 80GB PCIe', 'Alibaba''s 72B instruction model, Q4_K_M.', NULL, 'ghcr.io/ggml-org/llama.cpp:server-cuda', 1, 1990000000, 50, 4, '["-hf", "bartowski/Qwen2.5-72B-Instruct-GGUF:Q4_K_M", "--host", "0.0.0.0", "--port", "8080", "-ngl", "99", "--metrics", "-np", "4", "-c", "16384"]', true, now());

INSERT INTO compute_catalog_entries (slug, name, category, provider, gpu_type, description, model, image, gpu_count, price_nanos_per_hour, storage_gb, position, args, enabled, updated_at) VALUES ('qwen2.5-7b', 'Qwen2.5 7B Instruct', 'chat', 'runpod', 'NVIDIA GeForce RTX 4090', 'Alibaba''s 7B instruction model, Q8_0.', NULL, 'ghcr.io/ggml-org/llama.cpp:server-cuda', 1, 450000000, 20, 5, '["-hf", "bartowski/Qwen2.5-7B-Instruct-GGUF:Q8_0", "--host", "0.0.0.0", "--port", "8080", "-ngl", "99", "--metrics", "-np", "4", "-c", "16384"]', true, now());

INSERT INTO compute_catalog_entries (slug, name, category, provider, gpu_type, description, model, image, gpu_count, price_nanos_per_hour, storage_gb, position, args, enabled, updated_at) VALUES ('mixtral-8x7b', 'Mixtral 8x7B Instruct', 'chat', 'runpod', 'NVIDIA A100 80GB PCIe', 'Mistral AI''s sparse mixture of experts, Q4_K_M.', NULL, 'ghcr.io/ggml-org/llama.cpp:server-cuda', 1, 1790000000, 50, 6, '["-hf", "bartowski/Mixtral-8x7B-Instruct-v0.1-GGUF:Q4_K_M", "--host", "0.0.0.0", "--port", "8080", "-ngl", "99", "--metrics", "-np", "4", "-c", "16384"]', true, now());

INSERT INTO compute_catalog_entries (slug, name, category, provider, gpu_type, description, model, image, gpu_count, price_nanos_per_hour, storage_gb, position, args, enabled, updated_at) VALUES ('gemma-2-9b', 'Gemma 2 9B Instruct', 'chat', 'runpod', 'NVIDIA GeForce RTX 4090', 'Google''s 9B instruction model, Q8_0.', NULL, 'ghcr.io/ggml-org/llama.cpp:server-cuda', 1, 450000000, 20, 7, '["-hf", "bartowski/gemma-2-9b-it-GGUF:Q8_0", "--host", "0.0.0.0", "--port", "8080", "-ngl", "99", "--metrics", "-np", "4", "-c", "16384"]', true, now());

INSERT INTO compute_catalog_entries (slug, name, category, provider, gpu_type, description, model, image, gpu_count, price_nanos_per_hour, storage_gb, position, args, enabled, updated_at) VALUES ('deepseek-r1-distill-70b', 'DeepSeek R1 Distill Llama 70B', 'chat', 'runpod', 'NVIDIA A100 80GB PCIe', 'Reasoning model distilled into Llama 70B, Q4_K_M.', NULL, 'ghcr.io/ggml-org/llama.cpp:server-cuda', 1, 1990000000, 50, 8, '["-hf", "bartowski/DeepSeek-R1-Distill-Llama-70B-GGUF:Q4_K_M", "--host", "0.0.0.0", "--port", "8080", "-ngl", "99", "--metrics", "-np", "4", "-c", "16384"]', true, now());

INSERT INTO compute_catalog_entries (slug, name, category, provider, gpu_type, description, model, image, gpu_count, price_nanos_per_hour, storage_gb, position, args, enabled, updated_at) VALUES ('bge-m3', 'BGE M3 embeddings', 'embeddings', 'runpod', 'NVIDIA GeForce RTX 4090', 'Multilingual dense embeddings, 1024 dimensions.', NULL, 'ghcr.io/ggml-org/llama.cpp:server-cuda', 1, 250000000, 10, 9, '["-hf", "gpustack/bge-m3-GGUF:Q8_0", "--host", "0.0.0.0", "--port", "8080", "-ngl", "99", "--metrics", "--embedding"]', true, now());

INSERT INTO compute_catalog_entries (slug, name, category, provider, gpu_type, description, model, image, gpu_count, price_nanos_per_hour, storage_gb, position, args, enabled, updated_at) VALUES ('nomic-embed-text', 'Nomic Embed Text v1.5', 'embeddings', 'runpod', 'NVIDIA GeForce RTX 4090', 'English embeddings with Matryoshka dimensions.', NULL, 'ghcr.io/ggml-org/llama.cpp:server-cuda', 1, 250000000, 10, 10, '["-hf", "nomic-ai/nomic-embed-text-v1.5-GGUF:Q8_0", "--host", "0.0.0.0", "--port", "8080", "-ngl", "99", "--metrics", "--embedding"]', true, now());

INSERT INTO compute_catalog_entries (slug, name, category, provider, gpu_type, description, model, image, gpu_count, price_nanos_per_hour, storage_gb, position, args, enabled, updated_at) VALUES ('whisper-large-v3', 'Whisper Large V3', 'speech_to_text', 'runpod', 'NVIDIA GeForce RTX 4090', 'OpenAI''s speech recognition, 99 languages.', NULL, NULL, 1, 350000000, 20, 11, '[]', true, now());

INSERT INTO compute_catalog_entries (slug, name, category, provider, gpu_type, description, model, image, gpu_count, price_nanos_per_hour, storage_gb, position, args, enabled, updated_at) VALUES ('whisper-large-v3-turbo', 'Whisper Large V3 Turbo', 'speech_to_text', 'runpod', 'NVIDIA GeForce RTX 4090', 'Faster Whisper with a pruned decoder.', NULL, NULL, 1, 350000000, 20, 12, '[]', true, now());

INSERT INTO compute_catalog_entries (slug, name, category, provider, gpu_type, description, model, image, gpu_count, price_nanos_per_hour, storage_gb, position, args, enabled, updated_at) VALUES ('sdxl', 'SDXL 1024px', 'image', 'runpod', 'NVIDIA GeForce RTX 4090', 'Stable Diffusion XL at 1024x1024.', NULL, NULL, 1, 450000000, 30, 13, '[]', true, now());

INSERT INTO compute_catalog_entries (slug, name, category, provider, gpu_type, description, model, image, gpu_count, price_nanos_per_hour, storage_gb, position, args, enabled, updated_at) VALUES ('flux-dev', 'Flux Dev', 'image', 'runpod', 'NVIDIA L40S', 'Black Forest Labs'' 12B text-to-image model.', NULL, NULL, 1, 890000000, 50, 14, '[]', true, now());

INSERT INTO compute_catalog_entries (slug, name, category, provider, gpu_type, description, model, image, gpu_count, price_nanos_per_hour, storage_gb, position, args, enabled, updated_at) VALUES ('sd-3.5-large', 'Stable Diffusion 3.5 Large', 'image', 'runpod', 'NVIDIA L40S', 'Stability AI''s 8B text-to-image model.', NULL, NULL, 1, 890000000, 50, 15, '[]', true, now());

INSERT INTO compute_catalog_entries (slug, name, category, provider, gpu_type, description, model, image, gpu_count, price_nanos_per_hour, storage_gb, position, args, enabled, updated_at) VALUES ('xtts-v2', 'Coqui XTTS v2', 'text_to_speech', 'runpod', 'NVIDIA GeForce RTX 4090', 'Multilingual voice cloning text to speech.', NULL, NULL, 1, 350000000, 20, 16, '[]', true, now());

INSERT INTO compute_catalog_entries (slug, name, category, provider, gpu_type, description, model, image, gpu_count, price_nanos_per_hour, storage_gb, position, args, enabled, updated_at) VALUES ('kokoro-82m', 'Kokoro 82M', 'text_to_speech', 'runpod', 'NVIDIA GeForce RTX 4090', 'Small, fast English text to speech.', NULL, NULL, 1, 250000000, 10, 17, '[]', true, now());

INSERT INTO gpu_prices (gpu_type, memory_gb, community_nanos_per_hour, secure_nanos_per_hour, enabled, updated_at) VALUES ('NVIDIA GeForce RTX 4090', 24, 350000000, 550000000, true, now());

INSERT INTO gpu_prices (gpu_type, memory_gb, community_nanos_per_hour, secure_nanos_per_hour, enabled, updated_at) VALUES ('NVIDIA RTX A6000', 48, 490000000, 790000000, true, now());

INSERT INTO gpu_prices (gpu_type, memory_gb, community_nanos_per_hour, secure_nanos_per_hour, enabled, updated_at) VALUES ('NVIDIA L40S', 48, 790000000, 990000000, true, now());

INSERT INTO gpu_prices (gpu_type, memory_gb, community_nanos_per_hour, secure_nanos_per_hour, enabled, updated_at) VALUES ('NVIDIA A100 80GB PCIe', 80, 1190000000, 1640000000, true, now());

INSERT INTO gpu_prices (gpu_type, memory_gb, community_nanos_per_hour, secure_nanos_per_hour, enabled, updated_at) VALUES ('NVIDIA H100 80GB HBM3', 80, 2390000000, 2990000000, true, now());

INSERT INTO compute_rates (name, nanos, updated_at) VALUES ('storage_per_gb_hour', 2000000, now());

UPDATE alembic_version SET version_num='0020' WHERE alembic_version.version_num = '0019';

-- Running upgrade 0020 -> 0021

CREATE TABLE usage_retention (
    table_name VARCHAR(40) NOT NULL,
    kept_from TIMESTAMP WITH TIME ZONE NOT NULL,
    CONSTRAINT pk_usage_retention PRIMARY KEY (table_name)
);

CREATE TABLE usage_logs_partitioned (LIKE usage_logs INCLUDING DEFAULTS) PARTITION BY RANGE (created_at);

DO $$
DECLARE
    this_month timestamp := date_trunc('month', now() AT TIME ZONE 'UTC');
    oldest timestamp := (SELECT min(created_at) FROM usage_logs) AT TIME ZONE 'UTC';
    newest timestamp := (SELECT max(created_at) FROM usage_logs) AT TIME ZONE 'UTC';
    month date := least(this_month, date_trunc('month', coalesce(oldest, this_month)));
    stop date := greatest(this_month + interval '1 month', date_trunc('month', newest))
        + interval '1 month';
BEGIN
    WHILE month < stop LOOP
        EXECUTE format(
            'CREATE TABLE %I PARTITION OF usage_logs_partitioned FOR VALUES FROM (%L) TO (%L)',
            'usage_logs_' || to_char(month, 'YYYY_MM'),
            month::text || ' 00:00:00+00',
            (month + interval '1 month')::date::text || ' 00:00:00+00'
        );
        EXECUTE format(
            'ALTER TABLE %I ENABLE ROW LEVEL SECURITY', 'usage_logs_' || to_char(month, 'YYYY_MM')
        );
        month := month + interval '1 month';
    END LOOP;
END $$;

CREATE TABLE usage_logs_default PARTITION OF usage_logs_partitioned DEFAULT;

ALTER TABLE usage_logs_default ENABLE ROW LEVEL SECURITY;

INSERT INTO usage_logs_partitioned SELECT * FROM usage_logs;

ALTER SEQUENCE usage_logs_id_seq OWNED BY usage_logs_partitioned.id;

DROP TABLE usage_logs;

ALTER TABLE usage_logs_partitioned RENAME TO usage_logs;

ALTER TABLE usage_logs ADD CONSTRAINT pk_usage_logs PRIMARY KEY (id, created_at);

ALTER TABLE usage_logs ADD CONSTRAINT uq_usage_logs_request_id_created_at UNIQUE (request_id, created_at);

CREATE INDEX ix_usage_logs_org_created ON usage_logs (organization_id, created_at);

CREATE INDEX ix_usage_logs_key_created ON usage_logs (api_key_id, created_at);

ALTER TABLE usage_logs ADD CONSTRAINT fk_usage_logs_api_key_id_api_keys FOREIGN KEY(api_key_id) REFERENCES api_keys (id);

ALTER TABLE usage_logs ADD CONSTRAINT fk_usage_logs_model_id_models FOREIGN KEY(model_id) REFERENCES models (id);

ALTER TABLE usage_logs ADD CONSTRAINT fk_usage_logs_organization_id_organizations FOREIGN KEY(organization_id) REFERENCES organizations (id);

ALTER TABLE usage_logs ADD CONSTRAINT fk_usage_logs_user_id_users FOREIGN KEY(user_id) REFERENCES users (id);

UPDATE alembic_version SET version_num='0021' WHERE alembic_version.version_num = '0020';

-- Running upgrade 0021 -> 0022

ALTER TABLE deployments ADD COLUMN last_request_at TIMESTAMP WITH TIME ZONE;

ALTER TABLE deployments ADD COLUMN busy_since TIMESTAMP WITH TIME ZONE;

ALTER TABLE deployment_runs ADD COLUMN instance_id VARCHAR(100);

CREATE TABLE deployment_replicas (
    id BIGSERIAL NOT NULL,
    deployment_id VARCHAR(40) NOT NULL,
    instance_id VARCHAR(100) NOT NULL,
    url VARCHAR(500),
    state VARCHAR(20) NOT NULL,
    requested_at TIMESTAMP WITH TIME ZONE NOT NULL,
    ready_at TIMESTAMP WITH TIME ZONE,
    CONSTRAINT pk_deployment_replicas PRIMARY KEY (id),
    CONSTRAINT fk_deployment_replicas_deployment_id_deployments FOREIGN KEY(deployment_id) REFERENCES deployments (id)
);

CREATE INDEX ix_deployment_replicas_deployment_id ON deployment_replicas (deployment_id);

UPDATE alembic_version SET version_num='0022' WHERE alembic_version.version_num = '0021';

-- Running upgrade 0022 -> 0023

ALTER TABLE models ADD COLUMN nanos_per_image BIGINT DEFAULT '0' NOT NULL;

ALTER TABLE models ADD COLUMN nanos_per_image_by_size JSON;

ALTER TABLE models ADD CONSTRAINT ck_models_image_price_nonnegative CHECK (nanos_per_image >= 0);

ALTER TABLE model_prices ADD COLUMN nanos_per_image BIGINT DEFAULT '0' NOT NULL;

ALTER TABLE model_prices ADD COLUMN nanos_per_image_by_size JSON;

ALTER TABLE model_prices ADD CONSTRAINT ck_model_prices_image_price_nonnegative CHECK (nanos_per_image >= 0);

ALTER TABLE usage_logs ADD COLUMN images INTEGER DEFAULT '0' NOT NULL;

ALTER TABLE usage_hourly ADD COLUMN images BIGINT DEFAULT '0' NOT NULL;

UPDATE alembic_version SET version_num='0023' WHERE alembic_version.version_num = '0022';

-- Running upgrade 0023 -> 0024

ALTER TABLE usage_logs ADD COLUMN characters BIGINT DEFAULT '0' NOT NULL;

ALTER TABLE usage_logs ADD COLUMN audio_seconds BIGINT DEFAULT '0' NOT NULL;

ALTER TABLE usage_hourly ADD COLUMN characters BIGINT DEFAULT '0' NOT NULL;

ALTER TABLE usage_hourly ADD COLUMN audio_seconds BIGINT DEFAULT '0' NOT NULL;

UPDATE alembic_version SET version_num='0024' WHERE alembic_version.version_num = '0023';

COMMIT;
