-- GPT API on Supabase: profiles from auth.users, and row level security on every table.
-- Apply after 001_schema.sql, in the SQL editor or with psql, as the postgres role.
--
-- Supabase grants anon and authenticated ALL on public tables by default, so row level
-- security is the only thing standing between PostgREST and the data: it is enabled on every
-- table below. Signed-in people may READ their own rows and their organisations' rows;
-- nothing is writable through PostgREST. Every write goes through the GPT API, which
-- connects as the database owner (or service_role) and enforces roles and capabilities.
-- A table missing here fails tests/supabase/test_scripts.py.

begin;

-- ---------------------------------------------------------------------------------------
-- Profiles: public.users rows ARE the profiles, keyed by auth.users.id.
-- ---------------------------------------------------------------------------------------

alter table public.users
  add constraint fk_users_id_auth_users foreign key (id) references auth.users (id) on delete cascade;

-- A new Supabase user gets a profile, a personal organisation and its owner membership, in
-- the same transaction as the sign-up. Phone-only users get a placeholder address, as our
-- email column is required and unique.
create or replace function public.handle_new_user() returns trigger
language plpgsql security definer set search_path = ''
as $$
declare
  organization_id uuid := gen_random_uuid();
  display_name text := coalesce(
    new.raw_user_meta_data ->> 'full_name', new.raw_user_meta_data ->> 'name', ''
  );
  address text := lower(coalesce(new.email, new.id::text || '@users.invalid'));
begin
  insert into public.users (id, email, name, is_admin, is_active, email_verified_at, created_at)
  values (new.id, address, left(display_name, 200), false, true, new.email_confirmed_at, now());
  insert into public.organizations (id, name, is_personal, is_active, balance_nanos, created_at)
  values (
    organization_id, left(coalesce(nullif(display_name, ''), address) || '''s organization', 200),
    true, true, 0, now()
  );
  insert into public.memberships (organization_id, user_id, role, created_at)
  values (organization_id, new.id, 'owner', now());
  return new;
end;
$$;

drop trigger if exists on_auth_user_created on auth.users;
create trigger on_auth_user_created after insert on auth.users
  for each row execute procedure public.handle_new_user();

-- Email changes and confirmations made in Supabase Auth follow through to the profile.
create or replace function public.handle_user_email_change() returns trigger
language plpgsql security definer set search_path = ''
as $$
begin
  update public.users
     set email = lower(coalesce(new.email, new.id::text || '@users.invalid')),
         email_verified_at = new.email_confirmed_at
   where id = new.id;
  return new;
end;
$$;

drop trigger if exists on_auth_user_email_changed on auth.users;
create trigger on_auth_user_email_changed after update of email, email_confirmed_at on auth.users
  for each row execute procedure public.handle_user_email_change();

-- The organisations the caller belongs to. Security definer, so policies on memberships can
-- use it without recursing into memberships' own policy.
create or replace function public.my_organization_ids() returns setof uuid
language sql stable security definer set search_path = ''
as $$
  select organization_id from public.memberships where user_id = (select auth.uid())
$$;

-- ---------------------------------------------------------------------------------------
-- Row level security on every table.
-- ---------------------------------------------------------------------------------------

alter table public.alembic_version enable row level security;
alter table public.api_keys enable row level security;
alter table public.audit_logs enable row level security;
alter table public.auth_attempts enable row level security;
alter table public.auth_tokens enable row level security;
alter table public.billing_accounts enable row level security;
alter table public.compute_catalog_entries enable row level security;
alter table public.compute_rates enable row level security;
alter table public.contact_messages enable row level security;
alter table public.credit_transactions enable row level security;
alter table public.crypto_charges enable row level security;
alter table public.crypto_events enable row level security;
alter table public.deployment_replicas enable row level security;
alter table public.deployment_runs enable row level security;
alter table public.deployments enable row level security;
alter table public.gpu_prices enable row level security;
alter table public.incident_updates enable row level security;
alter table public.incidents enable row level security;
alter table public.invitations enable row level security;
alter table public.memberships enable row level security;
alter table public.model_prices enable row level security;
alter table public.models enable row level security;
alter table public.notification_preferences enable row level security;
alter table public.oauth_identities enable row level security;
alter table public.organizations enable row level security;
alter table public.pod_runs enable row level security;
alter table public.pods enable row level security;
alter table public.recovery_codes enable row level security;
alter table public.servers enable row level security;
alter table public.service_latency_samples enable row level security;
alter table public.service_uptime_daily enable row level security;
alter table public.services enable row level security;
alter table public.status_subscribers enable row level security;
alter table public.stored_responses enable row level security;
alter table public.stripe_events enable row level security;
alter table public.stripe_payments enable row level security;
alter table public.subscription_invoices enable row level security;
alter table public.subscriptions enable row level security;
alter table public.usage_hourly enable row level security;
alter table public.usage_logs enable row level security;
alter table public.usage_retention enable row level security;
alter table public.user_sessions enable row level security;
alter table public.users enable row level security;
alter table public.webhook_attempts enable row level security;
alter table public.webhook_cursors enable row level security;
alter table public.webhook_deliveries enable row level security;
alter table public.webhook_endpoints enable row level security;
alter table public.webhook_events enable row level security;

-- Server-only, no policies at all (deny for anon and authenticated): alembic_version,
-- auth_attempts, auth_tokens, contact_messages, crypto_events, recovery_codes, servers
-- (upstream keys), status_subscribers, stripe_events, usage_retention, user_sessions,
-- webhook_cursors. usage_logs' monthly partitions have row level security on and no
-- policies from the moment they are made (the migration and the upkeep job): a member reads
-- usage through usage_logs and its policy, never a partition directly.

-- Public: the model catalogue, prices, the GPU cloud's catalog and price list, and the
-- status page.
create policy "Public read access" on public.models for select to anon, authenticated using (true);
create policy "Public read access" on public.model_prices for select to anon, authenticated using (true);
create policy "Public read access" on public.compute_catalog_entries for select to anon, authenticated using (true);
create policy "Public read access" on public.gpu_prices for select to anon, authenticated using (true);
create policy "Public read access" on public.compute_rates for select to anon, authenticated using (true);
create policy "Public read access" on public.services for select to anon, authenticated using (true);
create policy "Public read access" on public.incidents for select to anon, authenticated using (true);
create policy "Public read access" on public.incident_updates for select to anon, authenticated using (true);
create policy "Public read access" on public.service_uptime_daily for select to anon, authenticated using (true);
create policy "Public read access" on public.service_latency_samples for select to anon, authenticated using (true);

-- The caller's own rows.
create policy "Own profile" on public.users for select to authenticated
  using (id = (select auth.uid()));
create policy "Own identities" on public.oauth_identities for select to authenticated
  using (user_id = (select auth.uid()));
create policy "Own notification preferences" on public.notification_preferences
  for select to authenticated using (user_id = (select auth.uid()));
-- The seed's policy: people see the subscriptions they took out...
create policy "Users can view their own subscriptions" on public.subscriptions
  for select to authenticated using (user_id = (select auth.uid()));

-- Rows of the caller's organisations.
create policy "Member organisations" on public.organizations for select to authenticated
  using (id in (select public.my_organization_ids()));
create policy "Member organisations" on public.memberships for select to authenticated
  using (organization_id in (select public.my_organization_ids()));
create policy "Member organisations" on public.api_keys for select to authenticated
  using (organization_id in (select public.my_organization_ids()));
create policy "Member organisations" on public.usage_logs for select to authenticated
  using (organization_id in (select public.my_organization_ids()));
create policy "Member organisations" on public.usage_hourly for select to authenticated
  using (organization_id in (select public.my_organization_ids()));
create policy "Member organisations" on public.credit_transactions for select to authenticated
  using (organization_id in (select public.my_organization_ids()));
create policy "Member organisations" on public.audit_logs for select to authenticated
  using (organization_id in (select public.my_organization_ids()));
create policy "Member organisations" on public.invitations for select to authenticated
  using (organization_id in (select public.my_organization_ids()));
create policy "Member organisations" on public.billing_accounts for select to authenticated
  using (organization_id in (select public.my_organization_ids()));
create policy "Member organisations" on public.stripe_payments for select to authenticated
  using (organization_id in (select public.my_organization_ids()));
-- ...and, like every billing table, those of the organisations they belong to.
create policy "Member organisations" on public.subscriptions for select to authenticated
  using (organization_id in (select public.my_organization_ids()));
create policy "Member organisations" on public.subscription_invoices for select to authenticated
  using (organization_id in (select public.my_organization_ids()));
create policy "Member organisations" on public.crypto_charges for select to authenticated
  using (organization_id in (select public.my_organization_ids()));
-- GPU deployments, custom pods and their billed runs, like the billing tables. (Stored /v1
-- responses hold prompts and answers: they stay server-side, served to API keys only.)
create policy "Member organisations" on public.deployments for select to authenticated
  using (organization_id in (select public.my_organization_ids()));
create policy "Member organisations" on public.deployment_runs for select to authenticated
  using (organization_id in (select public.my_organization_ids()));
create policy "Member organisations" on public.deployment_replicas for select to authenticated
  using (deployment_id in (
    select id from public.deployments
     where organization_id in (select public.my_organization_ids())
  ));
create policy "Member organisations" on public.pods for select to authenticated
  using (organization_id in (select public.my_organization_ids()));
create policy "Member organisations" on public.pod_runs for select to authenticated
  using (organization_id in (select public.my_organization_ids()));
create policy "Member organisations" on public.webhook_endpoints for select to authenticated
  using (organization_id in (select public.my_organization_ids()));
create policy "Member organisations" on public.webhook_events for select to authenticated
  using (organization_id in (select public.my_organization_ids()));
create policy "Member organisations" on public.webhook_deliveries for select to authenticated
  using (endpoint_id in (
    select id from public.webhook_endpoints
     where organization_id in (select public.my_organization_ids())
  ));
create policy "Member organisations" on public.webhook_attempts for select to authenticated
  using (delivery_id in (
    select d.id from public.webhook_deliveries d
      join public.webhook_endpoints e on e.id = d.endpoint_id
     where e.organization_id in (select public.my_organization_ids())
  ));

-- Secrets stay server-side even on readable rows: column grants leave out password and TOTP
-- material, key hashes, webhook signing secrets, the key a deployment's server demands and a
-- pod's environment (it may hold its owner's secrets).
revoke select on public.users, public.api_keys, public.webhook_endpoints, public.deployments,
  public.pods from anon, authenticated;
grant select (id, email, name, is_admin, is_active, email_verified_at, created_at,
              password_changed_at, totp_enabled_at)
  on public.users to authenticated;
grant select (id, organization_id, user_id, name, key_prefix, revoked, revoked_at, expires_at,
              last_used_at, rpm_limit, tpm_limit, monthly_spend_cap_nanos, allowed_models,
              test_mode, purpose, scopes, created_at)
  on public.api_keys to authenticated;
grant select (id, organization_id, url, description, event_types, enabled, disabled_reason,
              previous_secret_expires_at, failing_since, created_at, updated_at)
  on public.webhook_endpoints to authenticated;
grant select (id, organization_id, name, catalog_slug, provider, mode, min_replicas, max_replicas,
              idle_timeout_seconds, state, state_reason, instance_id, url, model_id,
              price_nanos_per_hour, created_by, created_at, updated_at, start_requested_at,
              ready_at, deleted_at, last_request_at, busy_since)
  on public.deployments to authenticated;
grant select (id, organization_id, name, provider, image, gpu_type, gpu_count, cloud_type,
              storage_gb, ports, gpu_nanos_per_hour, storage_nanos_per_hour, state,
              state_reason, instance_id, connection, created_by, created_at, updated_at,
              start_requested_at, ready_at, terminated_at)
  on public.pods to authenticated;

commit;
