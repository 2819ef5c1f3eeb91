from tortoise import BaseDBAsyncClient

RUN_IN_TRANSACTION = True


async def upgrade(db: BaseDBAsyncClient) -> str:
    return """
        CREATE TABLE IF NOT EXISTS "account" (
    "id" SERIAL NOT NULL PRIMARY KEY,
    "created_at" TIMESTAMPTZ NOT NULL,
    "updated_at" TIMESTAMPTZ NOT NULL,
    "name" VARCHAR(200) NOT NULL,
    "plan" VARCHAR(32) NOT NULL,
    "credits" BIGINT NOT NULL,
    "period_start" TIMESTAMPTZ
);
CREATE INDEX IF NOT EXISTS "idx_account_created_028865" ON "account" ("created_at");
CREATE TABLE IF NOT EXISTS "denied_token" (
    "id" SERIAL NOT NULL PRIMARY KEY,
    "created_at" TIMESTAMPTZ NOT NULL,
    "updated_at" TIMESTAMPTZ NOT NULL,
    "jti" VARCHAR(64) NOT NULL UNIQUE,
    "expires_at" TIMESTAMPTZ NOT NULL
);
CREATE INDEX IF NOT EXISTS "idx_denied_toke_created_fb60cf" ON "denied_token" ("created_at");
CREATE INDEX IF NOT EXISTS "idx_denied_toke_expires_e380b5" ON "denied_token" ("expires_at");
COMMENT ON TABLE "denied_token" IS 'An access token `jti` refused until it would have expired anyway (logout).';
CREATE TABLE IF NOT EXISTS "user" (
    "id" SERIAL NOT NULL PRIMARY KEY,
    "created_at" TIMESTAMPTZ NOT NULL,
    "updated_at" TIMESTAMPTZ NOT NULL,
    "email" VARCHAR(254) NOT NULL UNIQUE,
    "password_hash" VARCHAR(255) NOT NULL,
    "first_name" VARCHAR(100) NOT NULL,
    "last_name" VARCHAR(100) NOT NULL,
    "role" VARCHAR(16) NOT NULL,
    "is_active" BOOL NOT NULL,
    "last_login" TIMESTAMPTZ,
    "account_id" INT NOT NULL REFERENCES "account" ("id") ON DELETE CASCADE
);
CREATE INDEX IF NOT EXISTS "idx_user_created_b19d59" ON "user" ("created_at");
CREATE INDEX IF NOT EXISTS "idx_user_account_d8c9ea" ON "user" ("account_id", "role");
CREATE TABLE IF NOT EXISTS "password_reset_token" (
    "id" SERIAL NOT NULL PRIMARY KEY,
    "created_at" TIMESTAMPTZ NOT NULL,
    "updated_at" TIMESTAMPTZ NOT NULL,
    "token_hash" VARCHAR(64) NOT NULL UNIQUE,
    "expires_at" TIMESTAMPTZ NOT NULL,
    "used_at" TIMESTAMPTZ,
    "user_id" INT NOT NULL REFERENCES "user" ("id") ON DELETE CASCADE
);
CREATE INDEX IF NOT EXISTS "idx_password_re_created_3d2cbf" ON "password_reset_token" ("created_at");
CREATE TABLE IF NOT EXISTS "refresh_token" (
    "id" SERIAL NOT NULL PRIMARY KEY,
    "created_at" TIMESTAMPTZ NOT NULL,
    "updated_at" TIMESTAMPTZ NOT NULL,
    "family" VARCHAR(64) NOT NULL,
    "token_hash" VARCHAR(64) NOT NULL UNIQUE,
    "expires_at" TIMESTAMPTZ NOT NULL,
    "used_at" TIMESTAMPTZ,
    "revoked_at" TIMESTAMPTZ,
    "user_id" INT NOT NULL REFERENCES "user" ("id") ON DELETE CASCADE
);
CREATE INDEX IF NOT EXISTS "idx_refresh_tok_created_4b63e7" ON "refresh_token" ("created_at");
CREATE INDEX IF NOT EXISTS "idx_refresh_tok_family_00f3ac" ON "refresh_token" ("family");
COMMENT ON TABLE "refresh_token" IS 'One refresh token of a rotation family; only its hash is kept.';
CREATE TABLE IF NOT EXISTS "web_session" (
    "id" SERIAL NOT NULL PRIMARY KEY,
    "created_at" TIMESTAMPTZ NOT NULL,
    "updated_at" TIMESTAMPTZ NOT NULL,
    "token_hash" VARCHAR(64) NOT NULL UNIQUE,
    "expires_at" TIMESTAMPTZ NOT NULL,
    "revoked_at" TIMESTAMPTZ,
    "user_id" INT NOT NULL REFERENCES "user" ("id") ON DELETE CASCADE
);
CREATE INDEX IF NOT EXISTS "idx_web_session_created_3d06d5" ON "web_session" ("created_at");
COMMENT ON TABLE "web_session" IS 'A browser session behind the `session` cookie.';
CREATE TABLE IF NOT EXISTS "industry" (
    "id" SERIAL NOT NULL PRIMARY KEY,
    "name" VARCHAR(120) NOT NULL UNIQUE,
    "slug" VARCHAR(120) NOT NULL UNIQUE
);
CREATE TABLE IF NOT EXISTS "site" (
    "id" SERIAL NOT NULL PRIMARY KEY,
    "created_at" TIMESTAMPTZ NOT NULL,
    "updated_at" TIMESTAMPTZ NOT NULL,
    "name" VARCHAR(200) NOT NULL,
    "domain" VARCHAR(253) NOT NULL,
    "is_active" BOOL NOT NULL,
    "slug" VARCHAR(80) NOT NULL UNIQUE,
    "account_id" INT NOT NULL REFERENCES "account" ("id") ON DELETE CASCADE,
    "industry_id" INT REFERENCES "industry" ("id") ON DELETE SET NULL
);
CREATE INDEX IF NOT EXISTS "idx_site_created_d13d9e" ON "site" ("created_at");
CREATE TABLE IF NOT EXISTS "industry_sector" (
    "id" SERIAL NOT NULL PRIMARY KEY,
    "name" VARCHAR(120) NOT NULL,
    "slug" VARCHAR(120) NOT NULL,
    "industry_id" INT NOT NULL REFERENCES "industry" ("id") ON DELETE CASCADE,
    CONSTRAINT "uid_industry_se_industr_4bd105" UNIQUE ("industry_id", "slug")
);
CREATE TABLE IF NOT EXISTS "site_sector" (
    "id" SERIAL NOT NULL PRIMARY KEY,
    "created_at" TIMESTAMPTZ NOT NULL,
    "updated_at" TIMESTAMPTZ NOT NULL,
    "name" VARCHAR(200) NOT NULL,
    "account_id" INT NOT NULL REFERENCES "account" ("id") ON DELETE CASCADE,
    "industry_sector_id" INT REFERENCES "industry_sector" ("id") ON DELETE SET NULL,
    "site_id" INT NOT NULL REFERENCES "site" ("id") ON DELETE CASCADE,
    CONSTRAINT "uid_site_sector_site_id_729ef7" UNIQUE ("site_id", "name")
);
CREATE INDEX IF NOT EXISTS "idx_site_sector_created_5e0481" ON "site_sector" ("created_at");
CREATE TABLE IF NOT EXISTS "seed_keyword" (
    "id" SERIAL NOT NULL PRIMARY KEY,
    "keyword" VARCHAR(255) NOT NULL,
    "volume" INT NOT NULL,
    "difficulty" SMALLINT NOT NULL,
    "intent" VARCHAR(16) NOT NULL,
    "created_at" TIMESTAMPTZ NOT NULL,
    "industry_id" INT NOT NULL REFERENCES "industry" ("id") ON DELETE CASCADE,
    "sector_id" INT NOT NULL REFERENCES "industry_sector" ("id") ON DELETE CASCADE,
    CONSTRAINT "uid_seed_keywor_sector__e83a44" UNIQUE ("sector_id", "keyword")
);
CREATE INDEX IF NOT EXISTS "idx_seed_keywor_industr_1dfdb2" ON "seed_keyword" ("industry_id", "volume");
CREATE TABLE IF NOT EXISTS "cluster" (
    "id" SERIAL NOT NULL PRIMARY KEY,
    "created_at" TIMESTAMPTZ NOT NULL,
    "updated_at" TIMESTAMPTZ NOT NULL,
    "name" VARCHAR(200) NOT NULL,
    "name_key" VARCHAR(200) NOT NULL,
    "description" TEXT NOT NULL,
    "status" VARCHAR(20) NOT NULL,
    "keywords_count" INT NOT NULL,
    "volume" BIGINT NOT NULL,
    "account_id" INT NOT NULL REFERENCES "account" ("id") ON DELETE CASCADE,
    "sector_id" INT REFERENCES "site_sector" ("id") ON DELETE SET NULL,
    "site_id" INT NOT NULL REFERENCES "site" ("id") ON DELETE CASCADE,
    CONSTRAINT "uid_cluster_site_id_9ebdb3" UNIQUE ("site_id", "name_key")
);
CREATE INDEX IF NOT EXISTS "idx_cluster_created_3f0725" ON "cluster" ("created_at");
CREATE INDEX IF NOT EXISTS "idx_cluster_account_4a54b6" ON "cluster" ("account_id", "created_at");
CREATE TABLE IF NOT EXISTS "content_idea" (
    "id" SERIAL NOT NULL PRIMARY KEY,
    "created_at" TIMESTAMPTZ NOT NULL,
    "updated_at" TIMESTAMPTZ NOT NULL,
    "title" VARCHAR(300) NOT NULL,
    "description" JSONB NOT NULL,
    "content_type" VARCHAR(16) NOT NULL,
    "content_structure" VARCHAR(16) NOT NULL,
    "target_keywords" JSONB NOT NULL,
    "estimated_word_count" INT NOT NULL,
    "status" VARCHAR(16) NOT NULL,
    "account_id" INT NOT NULL REFERENCES "account" ("id") ON DELETE CASCADE,
    "cluster_id" INT REFERENCES "cluster" ("id") ON DELETE SET NULL,
    "sector_id" INT REFERENCES "site_sector" ("id") ON DELETE SET NULL,
    "site_id" INT NOT NULL REFERENCES "site" ("id") ON DELETE CASCADE
);
CREATE INDEX IF NOT EXISTS "idx_content_ide_created_ca13c8" ON "content_idea" ("created_at");
CREATE INDEX IF NOT EXISTS "idx_content_ide_site_id_13fb7d" ON "content_idea" ("site_id", "status");
CREATE INDEX IF NOT EXISTS "idx_content_ide_account_408b92" ON "content_idea" ("account_id", "created_at");
CREATE TABLE IF NOT EXISTS "keyword" (
    "id" SERIAL NOT NULL PRIMARY KEY,
    "created_at" TIMESTAMPTZ NOT NULL,
    "updated_at" TIMESTAMPTZ NOT NULL,
    "keyword" VARCHAR(255) NOT NULL,
    "keyword_key" VARCHAR(255) NOT NULL,
    "volume" INT NOT NULL,
    "difficulty" SMALLINT NOT NULL,
    "intent" VARCHAR(16) NOT NULL,
    "status" VARCHAR(16) NOT NULL,
    "account_id" INT NOT NULL REFERENCES "account" ("id") ON DELETE CASCADE,
    "cluster_id" INT REFERENCES "cluster" ("id") ON DELETE SET NULL,
    "sector_id" INT REFERENCES "site_sector" ("id") ON DELETE SET NULL,
    "seed_keyword_id" INT REFERENCES "seed_keyword" ("id") ON DELETE SET NULL,
    "site_id" INT NOT NULL REFERENCES "site" ("id") ON DELETE CASCADE,
    CONSTRAINT "uid_keyword_site_id_9e86ad" UNIQUE ("site_id", "keyword_key")
);
CREATE INDEX IF NOT EXISTS "idx_keyword_created_a44d04" ON "keyword" ("created_at");
CREATE INDEX IF NOT EXISTS "idx_keyword_site_id_70a553" ON "keyword" ("site_id", "volume");
CREATE INDEX IF NOT EXISTS "idx_keyword_site_id_164e45" ON "keyword" ("site_id", "status");
CREATE INDEX IF NOT EXISTS "idx_keyword_account_d9973b" ON "keyword" ("account_id", "created_at");
CREATE INDEX IF NOT EXISTS "idx_keyword_cluster_8c3e94" ON "keyword" ("cluster_id", "status");
CREATE TABLE IF NOT EXISTS "task" (
    "id" SERIAL NOT NULL PRIMARY KEY,
    "created_at" TIMESTAMPTZ NOT NULL,
    "updated_at" TIMESTAMPTZ NOT NULL,
    "title" VARCHAR(300) NOT NULL,
    "brief" TEXT NOT NULL,
    "keywords" JSONB NOT NULL,
    "content_type" VARCHAR(16) NOT NULL,
    "content_structure" VARCHAR(16) NOT NULL,
    "word_count" INT NOT NULL,
    "status" VARCHAR(16) NOT NULL,
    "content_id" INT,
    "error" TEXT,
    "account_id" INT NOT NULL REFERENCES "account" ("id") ON DELETE CASCADE,
    "cluster_id" INT REFERENCES "cluster" ("id") ON DELETE SET NULL,
    "idea_id" INT REFERENCES "content_idea" ("id") ON DELETE SET NULL,
    "sector_id" INT REFERENCES "site_sector" ("id") ON DELETE SET NULL,
    "site_id" INT NOT NULL REFERENCES "site" ("id") ON DELETE CASCADE
);
CREATE INDEX IF NOT EXISTS "idx_task_created_afb134" ON "task" ("created_at");
CREATE INDEX IF NOT EXISTS "idx_task_site_id_5c9ade" ON "task" ("site_id", "status");
CREATE INDEX IF NOT EXISTS "idx_task_account_88ffe8" ON "task" ("account_id", "created_at");
CREATE TABLE IF NOT EXISTS "content" (
    "id" SERIAL NOT NULL PRIMARY KEY,
    "created_at" TIMESTAMPTZ NOT NULL,
    "updated_at" TIMESTAMPTZ NOT NULL,
    "title" VARCHAR(300) NOT NULL,
    "slug" VARCHAR(320) NOT NULL,
    "html" TEXT NOT NULL,
    "meta_title" VARCHAR(300) NOT NULL,
    "meta_description" VARCHAR(500) NOT NULL,
    "primary_keyword" VARCHAR(255) NOT NULL,
    "secondary_keywords" JSONB NOT NULL,
    "word_count" INT NOT NULL,
    "status" VARCHAR(16) NOT NULL,
    "source" VARCHAR(16) NOT NULL,
    "external_id" VARCHAR(64),
    "external_url" VARCHAR(2000),
    "taxonomy_ids" JSONB NOT NULL,
    "featured_image_id" INT,
    "seo_score" SMALLINT,
    "version" INT NOT NULL,
    "account_id" INT NOT NULL REFERENCES "account" ("id") ON DELETE CASCADE,
    "cluster_id" INT REFERENCES "cluster" ("id") ON DELETE SET NULL,
    "sector_id" INT REFERENCES "site_sector" ("id") ON DELETE SET NULL,
    "site_id" INT NOT NULL REFERENCES "site" ("id") ON DELETE CASCADE,
    "task_id" INT REFERENCES "task" ("id") ON DELETE SET NULL,
    CONSTRAINT "uid_content_site_id_369aa8" UNIQUE ("site_id", "slug")
);
CREATE INDEX IF NOT EXISTS "idx_content_created_e8f5b3" ON "content" ("created_at");
CREATE INDEX IF NOT EXISTS "idx_content_site_id_c53550" ON "content" ("site_id", "status");
CREATE INDEX IF NOT EXISTS "idx_content_account_b6a0a7" ON "content" ("account_id", "created_at");
CREATE INDEX IF NOT EXISTS "idx_content_site_id_5b7b3e" ON "content" ("site_id", "external_id");
CREATE TABLE IF NOT EXISTS "content_version" (
    "id" SERIAL NOT NULL PRIMARY KEY,
    "created_at" TIMESTAMPTZ NOT NULL,
    "updated_at" TIMESTAMPTZ NOT NULL,
    "version" INT NOT NULL,
    "title" VARCHAR(300) NOT NULL,
    "html" TEXT NOT NULL,
    "meta_title" VARCHAR(300) NOT NULL,
    "meta_description" VARCHAR(500) NOT NULL,
    "word_count" INT NOT NULL,
    "content_id" INT NOT NULL REFERENCES "content" ("id") ON DELETE CASCADE,
    CONSTRAINT "uid_content_ver_content_39c342" UNIQUE ("content_id", "version")
);
CREATE INDEX IF NOT EXISTS "idx_content_ver_created_6770b8" ON "content_version" ("created_at");
COMMENT ON TABLE "content_version" IS 'A previous state of a content, kept whenever it is replaced.';
CREATE TABLE IF NOT EXISTS "image" (
    "id" SERIAL NOT NULL PRIMARY KEY,
    "created_at" TIMESTAMPTZ NOT NULL,
    "updated_at" TIMESTAMPTZ NOT NULL,
    "kind" VARCHAR(16) NOT NULL,
    "position" INT NOT NULL,
    "prompt" TEXT NOT NULL,
    "alt_text" VARCHAR(500) NOT NULL,
    "url" VARCHAR(2000),
    "file_path" VARCHAR(500),
    "width" INT,
    "height" INT,
    "status" VARCHAR(16) NOT NULL,
    "error" TEXT,
    "account_id" INT NOT NULL REFERENCES "account" ("id") ON DELETE CASCADE,
    "content_id" INT NOT NULL REFERENCES "content" ("id") ON DELETE CASCADE,
    "site_id" INT NOT NULL REFERENCES "site" ("id") ON DELETE CASCADE
);
CREATE INDEX IF NOT EXISTS "idx_image_created_83f1e8" ON "image" ("created_at");
CREATE INDEX IF NOT EXISTS "idx_image_content_311b19" ON "image" ("content_id", "position");
CREATE INDEX IF NOT EXISTS "idx_image_site_id_cbcaa4" ON "image" ("site_id", "status");
CREATE TABLE IF NOT EXISTS "taxonomy" (
    "id" SERIAL NOT NULL PRIMARY KEY,
    "created_at" TIMESTAMPTZ NOT NULL,
    "updated_at" TIMESTAMPTZ NOT NULL,
    "kind" VARCHAR(16) NOT NULL,
    "name" VARCHAR(200) NOT NULL,
    "slug" VARCHAR(200) NOT NULL,
    "external_id" VARCHAR(64),
    "count" INT NOT NULL,
    "account_id" INT NOT NULL REFERENCES "account" ("id") ON DELETE CASCADE,
    "parent_id" INT REFERENCES "taxonomy" ("id") ON DELETE SET NULL,
    "site_id" INT NOT NULL REFERENCES "site" ("id") ON DELETE CASCADE,
    CONSTRAINT "uid_taxonomy_site_id_02e42d" UNIQUE ("site_id", "kind", "slug")
);
CREATE INDEX IF NOT EXISTS "idx_taxonomy_created_316282" ON "taxonomy" ("created_at");
CREATE TABLE IF NOT EXISTS "credit_transaction" (
    "id" BIGSERIAL NOT NULL PRIMARY KEY,
    "amount" BIGINT NOT NULL,
    "balance_after" BIGINT NOT NULL,
    "kind" VARCHAR(16) NOT NULL,
    "operation" VARCHAR(64) NOT NULL,
    "job_id" INT,
    "description" VARCHAR(500) NOT NULL,
    "created_at" TIMESTAMPTZ NOT NULL,
    "account_id" INT NOT NULL REFERENCES "account" ("id") ON DELETE CASCADE
);
CREATE INDEX IF NOT EXISTS "idx_credit_tran_job_id_61c2f4" ON "credit_transaction" ("job_id");
CREATE INDEX IF NOT EXISTS "idx_credit_tran_account_832b71" ON "credit_transaction" ("account_id", "created_at");
CREATE INDEX IF NOT EXISTS "idx_credit_tran_account_ad1931" ON "credit_transaction" ("account_id", "kind");
COMMENT ON TABLE "credit_transaction" IS 'One change of an account''s balance. The balance always equals the sum of `amount`.';
CREATE TABLE IF NOT EXISTS "usage_log" (
    "id" BIGSERIAL NOT NULL PRIMARY KEY,
    "site_id" INT,
    "operation" VARCHAR(64) NOT NULL,
    "credits" INT NOT NULL,
    "model" VARCHAR(100) NOT NULL,
    "tokens_in" INT NOT NULL,
    "tokens_out" INT NOT NULL,
    "job_id" INT,
    "created_at" TIMESTAMPTZ NOT NULL,
    "account_id" INT NOT NULL REFERENCES "account" ("id") ON DELETE CASCADE
);
CREATE INDEX IF NOT EXISTS "idx_usage_log_account_9095b2" ON "usage_log" ("account_id", "created_at");
CREATE INDEX IF NOT EXISTS "idx_usage_log_account_2193d4" ON "usage_log" ("account_id", "operation");
CREATE TABLE IF NOT EXISTS "job" (
    "id" SERIAL NOT NULL PRIMARY KEY,
    "created_at" TIMESTAMPTZ NOT NULL,
    "updated_at" TIMESTAMPTZ NOT NULL,
    "user_id" INT,
    "kind" VARCHAR(64) NOT NULL,
    "status" VARCHAR(16) NOT NULL,
    "params" JSONB NOT NULL,
    "progress_done" INT NOT NULL,
    "progress_total" INT NOT NULL,
    "result" JSONB,
    "error" JSONB,
    "credits_reserved" INT NOT NULL,
    "credits_used" INT NOT NULL,
    "checkpoint" JSONB NOT NULL,
    "started_at" TIMESTAMPTZ,
    "finished_at" TIMESTAMPTZ,
    "account_id" INT NOT NULL REFERENCES "account" ("id") ON DELETE CASCADE,
    "site_id" INT REFERENCES "site" ("id") ON DELETE CASCADE
);
CREATE INDEX IF NOT EXISTS "idx_job_created_366d29" ON "job" ("created_at");
CREATE INDEX IF NOT EXISTS "idx_job_account_983492" ON "job" ("account_id", "status");
CREATE INDEX IF NOT EXISTS "idx_job_site_id_1cb17b" ON "job" ("site_id", "status");
CREATE INDEX IF NOT EXISTS "idx_job_status_4c00a1" ON "job" ("status", "created_at");
CREATE TABLE IF NOT EXISTS "integration" (
    "id" SERIAL NOT NULL PRIMARY KEY,
    "created_at" TIMESTAMPTZ NOT NULL,
    "updated_at" TIMESTAMPTZ NOT NULL,
    "platform" VARCHAR(32) NOT NULL,
    "base_url" VARCHAR(2000) NOT NULL,
    "username" VARCHAR(200) NOT NULL,
    "app_password_enc" TEXT,
    "webhook_secret_enc" TEXT,
    "is_active" BOOL NOT NULL,
    "sync_enabled" BOOL NOT NULL,
    "last_sync_at" TIMESTAMPTZ,
    "sync_status" VARCHAR(16) NOT NULL,
    "structure" JSONB NOT NULL,
    "config" JSONB NOT NULL,
    "account_id" INT NOT NULL REFERENCES "account" ("id") ON DELETE CASCADE,
    "site_id" INT NOT NULL REFERENCES "site" ("id") ON DELETE CASCADE
);
CREATE INDEX IF NOT EXISTS "idx_integration_created_9df77d" ON "integration" ("created_at");
CREATE TABLE IF NOT EXISTS "api_key" (
    "id" SERIAL NOT NULL PRIMARY KEY,
    "created_at" TIMESTAMPTZ NOT NULL,
    "updated_at" TIMESTAMPTZ NOT NULL,
    "prefix" VARCHAR(16) NOT NULL,
    "key_hash" VARCHAR(64) NOT NULL UNIQUE,
    "revoked_at" TIMESTAMPTZ,
    "last_used_at" TIMESTAMPTZ,
    "account_id" INT NOT NULL REFERENCES "account" ("id") ON DELETE CASCADE,
    "integration_id" INT REFERENCES "integration" ("id") ON DELETE CASCADE,
    "site_id" INT NOT NULL REFERENCES "site" ("id") ON DELETE CASCADE
);
CREATE INDEX IF NOT EXISTS "idx_api_key_created_434c90" ON "api_key" ("created_at");
COMMENT ON TABLE "api_key" IS 'A site-scoped key for the WordPress plugin; shown once, kept as a hash.';
CREATE TABLE IF NOT EXISTS "sync_run" (
    "id" SERIAL NOT NULL PRIMARY KEY,
    "job_id" INT,
    "status" VARCHAR(16) NOT NULL,
    "stage" VARCHAR(32) NOT NULL,
    "done" INT NOT NULL,
    "total" INT NOT NULL,
    "items" JSONB NOT NULL,
    "error" TEXT,
    "started_at" TIMESTAMPTZ NOT NULL,
    "finished_at" TIMESTAMPTZ,
    "integration_id" INT NOT NULL REFERENCES "integration" ("id") ON DELETE CASCADE
);
CREATE INDEX IF NOT EXISTS "idx_sync_run_integra_7ecf24" ON "sync_run" ("integration_id", "started_at");
CREATE TABLE IF NOT EXISTS "webhook_event" (
    "id" SERIAL NOT NULL PRIMARY KEY,
    "webhook_id" VARCHAR(255) NOT NULL,
    "event" VARCHAR(32) NOT NULL,
    "status" VARCHAR(16) NOT NULL,
    "error" VARCHAR(500),
    "received_at" TIMESTAMPTZ NOT NULL,
    "integration_id" INT NOT NULL REFERENCES "integration" ("id") ON DELETE CASCADE
);
CREATE INDEX IF NOT EXISTS "idx_webhook_eve_integra_1e3e4e" ON "webhook_event" ("integration_id", "webhook_id");
CREATE INDEX IF NOT EXISTS "idx_webhook_eve_integra_ac5556" ON "webhook_event" ("integration_id", "received_at");
CREATE TABLE IF NOT EXISTS "deployment" (
    "id" SERIAL NOT NULL PRIMARY KEY,
    "created_at" TIMESTAMPTZ NOT NULL,
    "updated_at" TIMESTAMPTZ NOT NULL,
    "job_id" INT,
    "content_ids" JSONB NOT NULL,
    "status" VARCHAR(16) NOT NULL,
    "started_at" TIMESTAMPTZ,
    "finished_at" TIMESTAMPTZ,
    "summary" JSONB NOT NULL,
    "account_id" INT NOT NULL REFERENCES "account" ("id") ON DELETE CASCADE,
    "site_id" INT NOT NULL REFERENCES "site" ("id") ON DELETE CASCADE
);
CREATE INDEX IF NOT EXISTS "idx_deployment_created_4f4229" ON "deployment" ("created_at");
CREATE TABLE IF NOT EXISTS "publishing_record" (
    "id" SERIAL NOT NULL PRIMARY KEY,
    "created_at" TIMESTAMPTZ NOT NULL,
    "updated_at" TIMESTAMPTZ NOT NULL,
    "destination" VARCHAR(32) NOT NULL,
    "status" VARCHAR(16) NOT NULL,
    "external_id" VARCHAR(64),
    "external_url" VARCHAR(2000),
    "error" TEXT,
    "job_id" INT,
    "marker" VARCHAR(64),
    "scheduled_at" TIMESTAMPTZ,
    "published_at" TIMESTAMPTZ,
    "account_id" INT NOT NULL REFERENCES "account" ("id") ON DELETE CASCADE,
    "content_id" INT NOT NULL REFERENCES "content" ("id") ON DELETE CASCADE,
    "site_id" INT NOT NULL REFERENCES "site" ("id") ON DELETE CASCADE
);
CREATE INDEX IF NOT EXISTS "idx_publishing__created_e11918" ON "publishing_record" ("created_at");
CREATE INDEX IF NOT EXISTS "idx_publishing__schedul_3344f5" ON "publishing_record" ("scheduled_at");
CREATE INDEX IF NOT EXISTS "idx_publishing__content_f6851b" ON "publishing_record" ("content_id", "created_at");
CREATE INDEX IF NOT EXISTS "idx_publishing__status_aa7c67" ON "publishing_record" ("status", "scheduled_at");
CREATE TABLE IF NOT EXISTS "account_setting" (
    "id" SERIAL NOT NULL PRIMARY KEY,
    "created_at" TIMESTAMPTZ NOT NULL,
    "updated_at" TIMESTAMPTZ NOT NULL,
    "key" VARCHAR(32) NOT NULL,
    "value" JSONB NOT NULL,
    "secret_enc" TEXT,
    "account_id" INT NOT NULL REFERENCES "account" ("id") ON DELETE CASCADE,
    CONSTRAINT "uid_account_set_account_7c7554" UNIQUE ("account_id", "key")
);
CREATE INDEX IF NOT EXISTS "idx_account_set_created_e2ee01" ON "account_setting" ("created_at");
COMMENT ON TABLE "account_setting" IS 'One settings document of an account, by key: `openai`, `image_generation`, `modules`.';
CREATE TABLE IF NOT EXISTS "prompt" (
    "id" SERIAL NOT NULL PRIMARY KEY,
    "created_at" TIMESTAMPTZ NOT NULL,
    "updated_at" TIMESTAMPTZ NOT NULL,
    "type" VARCHAR(32) NOT NULL,
    "text" TEXT NOT NULL,
    "account_id" INT NOT NULL REFERENCES "account" ("id") ON DELETE CASCADE,
    CONSTRAINT "uid_prompt_account_184342" UNIQUE ("account_id", "type")
);
CREATE INDEX IF NOT EXISTS "idx_prompt_created_5148bf" ON "prompt" ("created_at");
COMMENT ON TABLE "prompt" IS 'An account''s own text for a prompt type; absent means the default from config.';
CREATE TABLE IF NOT EXISTS "automation_config" (
    "id" SERIAL NOT NULL PRIMARY KEY,
    "created_at" TIMESTAMPTZ NOT NULL,
    "updated_at" TIMESTAMPTZ NOT NULL,
    "enabled" BOOL NOT NULL,
    "schedule" JSONB NOT NULL,
    "stages" JSONB NOT NULL,
    "batch" JSONB NOT NULL,
    "publish_status" VARCHAR(16) NOT NULL,
    "max_credits_per_run" INT,
    "next_run_at" TIMESTAMPTZ,
    "account_id" INT NOT NULL REFERENCES "account" ("id") ON DELETE CASCADE,
    "site_id" INT NOT NULL REFERENCES "site" ("id") ON DELETE CASCADE,
    CONSTRAINT "uid_automation__site_id_e415af" UNIQUE ("site_id")
);
CREATE INDEX IF NOT EXISTS "idx_automation__created_b7db25" ON "automation_config" ("created_at");
CREATE INDEX IF NOT EXISTS "idx_automation__next_ru_e7494d" ON "automation_config" ("next_run_at");
CREATE TABLE IF NOT EXISTS "automation_run" (
    "id" SERIAL NOT NULL PRIMARY KEY,
    "created_at" TIMESTAMPTZ NOT NULL,
    "updated_at" TIMESTAMPTZ NOT NULL,
    "status" VARCHAR(16) NOT NULL,
    "trigger" VARCHAR(16) NOT NULL,
    "current_stage" SMALLINT,
    "stages" JSONB NOT NULL,
    "credits_used" INT NOT NULL,
    "credits_reserved" INT NOT NULL,
    "checkpoint" JSONB NOT NULL,
    "reason" VARCHAR(32),
    "error" TEXT,
    "started_at" TIMESTAMPTZ,
    "finished_at" TIMESTAMPTZ,
    "account_id" INT NOT NULL REFERENCES "account" ("id") ON DELETE CASCADE,
    "site_id" INT NOT NULL REFERENCES "site" ("id") ON DELETE CASCADE
);
CREATE INDEX IF NOT EXISTS "idx_automation__created_49b8e0" ON "automation_run" ("created_at");
CREATE INDEX IF NOT EXISTS "idx_automation__site_id_98d1cd" ON "automation_run" ("site_id", "status");
CREATE TABLE IF NOT EXISTS "automation_log" (
    "id" BIGSERIAL NOT NULL PRIMARY KEY,
    "ts" TIMESTAMPTZ NOT NULL,
    "level" VARCHAR(8) NOT NULL,
    "stage" SMALLINT,
    "message" TEXT NOT NULL,
    "item_id" INT,
    "run_id" INT NOT NULL REFERENCES "automation_run" ("id") ON DELETE CASCADE
);
CREATE INDEX IF NOT EXISTS "idx_automation__run_id_819ef7" ON "automation_log" ("run_id", "ts");
CREATE TABLE IF NOT EXISTS "link" (
    "id" SERIAL NOT NULL PRIMARY KEY,
    "created_at" TIMESTAMPTZ NOT NULL,
    "updated_at" TIMESTAMPTZ NOT NULL,
    "anchor" VARCHAR(255) NOT NULL,
    "href" VARCHAR(2000) NOT NULL,
    "account_id" INT NOT NULL REFERENCES "account" ("id") ON DELETE CASCADE,
    "site_id" INT NOT NULL REFERENCES "site" ("id") ON DELETE CASCADE,
    "source_id" INT NOT NULL REFERENCES "content" ("id") ON DELETE CASCADE,
    "target_id" INT NOT NULL REFERENCES "content" ("id") ON DELETE CASCADE,
    CONSTRAINT "uid_link_source__d12fd8" UNIQUE ("source_id", "target_id")
);
CREATE INDEX IF NOT EXISTS "idx_link_created_15e60b" ON "link" ("created_at");
CREATE TABLE IF NOT EXISTS "idempotency_record" (
    "id" SERIAL NOT NULL PRIMARY KEY,
    "scope" VARCHAR(300) NOT NULL,
    "key" VARCHAR(255) NOT NULL,
    "body_hash" VARCHAR(64) NOT NULL,
    "state" VARCHAR(16) NOT NULL,
    "status" SMALLINT,
    "body" TEXT,
    "created_at" TIMESTAMPTZ NOT NULL,
    "expires_at" TIMESTAMPTZ NOT NULL,
    CONSTRAINT "uid_idempotency_scope_7030bc" UNIQUE ("scope", "key")
);
CREATE INDEX IF NOT EXISTS "idx_idempotency_expires_d7c672" ON "idempotency_record" ("expires_at");
CREATE TABLE IF NOT EXISTS "aerich" (
    "id" SERIAL NOT NULL PRIMARY KEY,
    "version" VARCHAR(255) NOT NULL,
    "app" VARCHAR(100) NOT NULL,
    "content" JSONB NOT NULL
);"""


async def downgrade(db: BaseDBAsyncClient) -> str:
    return """
        """


MODELS_STATE = (
    "eJztXWtz4zay/SssfdlJlXbKlizbSba2yppMZr3xjFO2J9naqRRNUZDEmCIUPvyovfPfL0"
    "DxTYAiNCQF0P0pGRFNyQck0H1Od+N/gzWeI9t7e2GaOHD8wQ/a/waOsUbkf4qXhtrA2GzS"
    "C/QD35jZ4VgjM2jm+a5h0nstDNtD5KM58kzX2vgWdsinTmDb9ENskoGWs0w/ChzrrwDpPl"
    "4if4VccuHLH+Rjy5mjZ+TF/9w86AsL2fPcj7Xm9LvDz3X/ZRN+dun4P4cD6bfNdBPbwdpJ"
    "B29e/BV2ktHW9ucvkYNcw0f09r4b0J9Pf130h8Z/0faXpkO2PzFjM0cLI7D9zJ8709PPBr"
    "r+6fpOv31/p+sDAYBM7FBwyU/1wr9+SX/C30fHJ2cn5+PTk3MyJPyZySdnX7dfnQKzNQzh"
    "+XQ3+BpeN3xjOyLEOAXVdBFFQjf8Mrg/kSu+tUZshPOWBaTnkenb+H+KuMcoVwEff3Ag5M"
    "nfN7927Jfoeytgvrv8+P727uLjr/Tr1p73lx3Cd3H3nl4ZhZ++FD59c/od/RyT92j7fiU3"
    "0X6/vPuXRv+p/ff60/sQXez5Szf8xnTc3X8H9DcZgY91Bz/pxjwDUfxpDCMZmU56sJnvOe"
    "l5y24mPV1iYNZ5sx5jlJn26Nensx7+tzTf71aGy57reHxhlglaKs7r2njWbeQs/RVdPI+O"
    "Kib2t4ubd/+6uHlDRhVm61N0abS99jWH78Y2HBF84/Hd4TtYuAgNOkF4PKoB8HjExZdeys"
    "NL9pu55XtlhKfWkusGZIx2+wJNwXzUri/w/Wg0Hp+Njsan55OTs7PJ+VHiFJQvVXkH08sP"
    "1EHIzUDsMWQea+RaeK57vuEKbxdF2wY2jGh/k2VdUXd/2LoF1NtePGRcQ/rBzDAfngx3rp"
    "eu4BHmjS1fWo/WxU8Mx1iGk0TRpL8zjkA21i/oZcCKTbZXhpWhycbSH6JBu0KTwYXmWT76"
    "u2fiDZprxExbYFcjwYj2O3bnvxI8PW1jB0vL+VHzVvjJ0bBjkvs8oI2vGZ5maCvDW70dFB"
    "6PJu8LQRIESRAkQZAkrTOt5qzXCZI2LlpYz0JufGLRw0Dp+LSGG39cnK/UjaeX8u4k2Rh1"
    "utGJQJy1aQbkw25XOYhPT2pAfHrChZheykPsokf8sNfKlbcEb12ehaq8P9mG5+uBt9c8F2"
    "1hpmWe6Uh50YV8+7xRd+SH9G5+JlZyfLQkfz/5GWLYlg33wleyV6ZpeGk4LIZrxgIe2AjR"
    "EkFTWhfKAP+MXWQtnV/QS4jzJflRhmOyyPyyAKwYxF/jZyj+NH2vXOMpIUgKyyFBgPzdyN"
    "/6nRe37y5+ej8oPbwNAHsb3aanqGZe2N2QZlbNBpC9zN9NraW2Lr7ljYYN82FI25+QY6H5"
    "HYkYnAGDuc1eHlbRt/NwoO4nI3dzuI5GXmjKqIZG2v2fvnWvkUCc+rQaec8tW7N87QkH9l"
    "xbGY9IQ88byyXXDOflyXjR3th4iQP/OwaN2+itgckFJheYXGByZd3oFZ31OkwuWbdFOMZo"
    "ONCLO+nF7X7n7fE65S37t4aq+/ZIlQzwq+F5T9id3yAP+Vz3kjGq0svcRON1lxoIeJuQzA"
    "zeneork6L7PHh3r3HW63h34fItLCTnrcDX65mvBwqjgLOXW0P3k5FBQVZnfl0xKS5jAVLc"
    "bimOwtWAqPE5uo1i4NaVMzIPlUw6xg1akHdtxY00c9eHVTGmux0pImVcO0iLzCLFAS80Q3"
    "OxH8o+xGxt2S8/api4cZrle2GWuGZ5Yd54Wb749ttBUAtBLQS1ENTKutkoOut1gtrt4iwS"
    "0KYWbSWf9ymaBdIASAMpPGUFFysgDV7b/EIZyWuYZaCGgBoCaohHDYX52wxKKM7r5lNBcQ"
    "I5pBco9SIPgYl5PTE5MDGvcdbrMDHQK63dXmlzvCZfJ4JwatFHjCfjOhhPxnyM6bVCeaun"
    "E7/DemQ8yFOMbWQ4HHcga1cAe0YM20I73rC6Ddim19dXuUVpelloifbp88fp+5s3xyH2ZN"
    "DWJWQVvNrBUuSRjsf3jlI8r7NinPMXjPPSegEl8G2VwM8Dcv8X0fr3nBUUv0Op9gFLteOn"
    "sQFwLzO3Uuv5rV9RnHt1c+iS36B9+nx1dUiy5RaZPnYHHMolujrcRbzoXjqwUf7lS7bkPf"
    "yBfwAlA5QMUDJAyUixDSg660DJHJ6SgRCr5RBr65PsGWnljCHggm5j7SAKISx0G5MWVcFu"
    "Y7mVs0FyIA1C1VpxhSmC3J4jFVMQJsMwOII4SYbPDsTZOK2mZXwpLAAutiOiAJgBYAaAGQ"
    "BmAJiBBpkBtDYsW4QaSAx6p7yOJnWqOcioikSCUj1H0jlJtHKmZNhHLmYyqYX4pALxSRHx"
    "heV6vi7KeOWtOjxWcNAJ0se1WK/jCtbruMx6hSchiAKdMwKc6+AcusACEMfjO0QXPznb2K"
    "ADiBs/VgeSvTpO9grXABsvWVmMNQ5fSSyhOkoez7IcUIAoAtyyZPRcHW75MKzc72h2izxv"
    "+3eXuLnM1WEVQ/eEZrqXGVjjQNeZi5885GqRmTZDKzKJ4dmr99Fn95qJ8YOFWOe2ippDXR"
    "ZQfUD1AdUn606i6KzXofqggwt0cJHCTVPwZSqvodDh4zXMMnT4gA4fEsStknb4SEp+GCFr"
    "thyIH7Bm64+g24dSL/WwIqo8bL65RO7l8aiWHjSq0INGJT0IaqWbRre0QfHX08w0hCl+Hk"
    "M0igx//uUG2ckpqw0lRqqyhX3tYuPhVzyWcd29CbVY+VgoHQ3fSKh+fL1b1KGd+r5vUv3H"
    "93DdJ6QDu90I9TAtEmQDuYkeCYfuR4nQnMwVTapkeQzZy5XugkcG6g+ZkU13SciWjsTfU3"
    "QWSi7FI33HoVKiYy8i8xjU3egyJj3c61pJ6Y2e7fqPb2rQ3Q53JPUjnGkfaC0Wlkl+ImNH"
    "u10bts1FNW/ZG2THo7PTBFT6jyo8bz9eXF2xCtV9xMrB4i8DqUUPV4Hmc3TVylOBlIXd+l"
    "udRBUIclpr+bBHQ41v76PRR1QhdOwydCw/ww2C2zsSvggxvyvBgWPzdzaZAHZfgvjSsCom"
    "NzOD2m1aSCN/RjSezyzP+BwQkEM+M+QzQz4zBAfQ1FCtpobJbieIcWwDONc8zyPzy0pQ36"
    "FnHhuXN+tBKX3V2vT+P3e5ZSlG9M3Hi/98l1uarq4/fYiHZ2bg3dX1tBgD+4YfMPJ3KkTq"
    "xKJDuB301Bbixae71sNd8WwXH+1I6/B0Tokq190tG/aGbm6MwuGpIlNr+ZqEke9Ho/H4bH"
    "Q0Pj2fnJydTc6PEmDLl6oQnl5+oCDnHu4y6lDV3idCUrLSGWjsKyOi0HwBGvtKi6pQY9/G"
    "GPP8gTJqLbLfTpYfuoXvOxwmD1zOkTFgMeaZy8NK1nw7kPyJ0ch2G/tmHtUokCJDgDoH6h"
    "yoc6DO5duBFZ31OtS5b/liLSUTgx6SuuNapO64gtQdC5K6/769/rQPqTu3TF/7P822vNbi"
    "hME/FoFj+mErr8Cyfcvx3tLv++cBSF8KUzXpW+R3C28KvUGR9I19nhBTgTegaNchAUz/pG"
    "4Y4BbyNiPYyHcGph+4e2GeM+4QeMP1LXO77qmIvW+4xBuPS1UYQgd/HWKYwlrU+FqEPOIa"
    "hU5U2OldVCThmXdH3B0fHamiloDY1/ZyA8pIO09ulNsohmveCLQREJxAcFIGURCcQHCSFl"
    "UQnA4pODEcgwbQzdRY9BPavDsklZhX0ZKiVjuKNjtRpK969C2c6pfMwLgPBVX2hAU/ejU/"
    "VbEdSIEgBYIUCFIgSIENS4HQwaaLDjbZ7VMc6T5X1EC/ICl9A+gXxEX29fQLIhcX2F2HLY"
    "wNW1VdApQfUH5UCstA+QHlR0VQ066ootCWLAFgkNbaQRSkNZDWpEUVpDWQ1pSDtpa0xvMU"
    "mnh8833b+wkyw0eSSsSMSg4H/GrEahHTzAxqT8RkHruzp0yZMULP5Pl3DJv+E4RKECpBqA"
    "ShEoRKqFlUrWYRjuxK8a3VC21c0QxtXO6GtvLXdhlffoe/eDy09hNu7bdGxGEQXjHyVj2A"
    "vYNFI8Ssstp5B97962OZR31SC/VJBeqTMuob11ob7gs/jOaDzjDtHeatZJV4iHznPAOdUE"
    "Ut2xqKaquX/j2KavcqpT1UAa0qSUCK5FDMXWOhbKsEDweuKeSvpBYdYrw2nEDdZKAsVyeA"
    "dMFsL7glo57zSJ+e1ED69ISLNL3EQTpwGVFPDagju/5hPTqq20a+so98ySn0jWfs4DU9QE"
    "mw2UfeDpySxp2SBTJo/5q5TnzvpWAaB9MWMmRYKUhY90zM6jFUnaicM+wRsk1kKj8i12OG"
    "9fxk+tSiw040ijyjkCoLqbIKwQqpspDJqQCivuE9iCGasYBHFFJjITVWclQhNVaW1Fi6cj"
    "YA7V10m36CmtleINu4SWAlbuQTJbr+FoW//FTY39IAeffZHJloemdm7OBC27jo0cKBp1H9"
    "BWl4oRladKuh9oA2vva0Ig8Guatm+ZrlaS7a2IaJ5m8HhXn65psxs3HTI0fokPiPK+bkQh"
    "ItJNFCEi0k0UISbcNJtIqwudIvppCW3F2Gofxps+37xZA4ywQeEmchcVYscRayA9sQ33JB"
    "XV3xLWcEvsVuFj5TJPutNFF6J8Ugrs0T5Z4uNmV8GJrokmbxDBjs0PbCsIoUspIh7Z7UWn"
    "g3sWeFty0WPkNzZqBrgK4BugbomraaMxNIReKCeHynLUJ1xY9JTLa3+ltV1gTCgWI4sHHx"
    "esNYp/iUTWrRgyi2a8rGsH3dJ9CKLBRZmx5A3gFxIFjFAsUrgsUrC8tG+sYg3yGAcs6of1"
    "i3w4BZcxbIfPIrHg95kuWtboWs5UqESkwNAE5ly4w3yJlTWBR1eJHrsrIj+e5ZYtCHJbZz"
    "9wwqfkB0UAhXqE6BYgppZBwopmgDVaFiClAd+6A6huUWDNExLsPga45xvUfLkqNwE2YQHU"
    "F0BNERREcQHaHRsmKpnzPXQgsRAiYx6IFW0zX/sk+zTmjR2Wo3rNhNDjEVWGiKdl1SvthT"
    "trFkDBv5zsCkrcT2wTxn3CHwiieXKJVvfnx0pEqOiSJKERkaoLmqD++hKHbJFKOmn13Q30"
    "B/U/8pho57rcBqzZEhhmnGAgCFFoYgEiuDKIjEIBJLiyp03JOl4x60h2vvMGrqPDUB7Dbo"
    "vYzu1k9wM46mVI337qLzKwbM/Ibo2rA6xyEzqr3zp+PyPOY51JDPAPkMkM8A+QyQz/Dqiq"
    "g7y2ZoXiII/ysAbjy+h+CO6hZGVtVFwpnc3eIL5wGywW7+PEBRERz6rXHZV5C0WmpcYbjC"
    "cnfOBqQCkAraQRSkApAKpEVVSCrYLpgNgJql9tRaYuvimttbpKJc37lobvl3ruF4hunzjj"
    "spDRpWnngSDtf9wvidh55cO0gzV4az3J5Q4mjRS/43T5sZNn2G3mp3KxT/QzPsJ+PF09Bf"
    "Abmf5pMrXrCmpvfGmtrdl49Caecr6pTF8evfytVxIXEhVhc3tZavhUr+fjQaj89GR+PT88"
    "nJ2dnk/CjZh8uXqjbk6eUHuicPs4HPbsJ5O/FiM5Da9MkP6mQiMsU223dSNxZMDbUK/5Ip"
    "TMPe0wAsbIssLN5QNAQPEcgZ9aCwrG0C6088E4tjU4OWeAH1BNkUzT1PvoBDL/Zo+aeW2A"
    "265w+NqN3AEgP9JhmhUYd+Owyh8dkjn1/h5YDBYyTXhlX0RUBH6XY0rN1mOSKsQOrmATUg"
    "JzXQvUIiGR/atG+pUjiksqIfEraMImy+pp9agKpffGrDPUXkiU0MehcFHdeKgo4roqDjch"
    "Tk4wfkeLolctBHzgYe2dLht1t4cCCS2JM3AlCLoMrHMyntDAD5wYcayA8gP4D8ePXkx7/x"
    "bMDgPejHwyrK489oQJdkR7Y5MKdncNrpCfoFQ31dnfUC6uugvg5mfc/6usAT7QKVsYCIBV"
    "JlOiUtoXFkB/lIG8M11kIdl1MLOfot06/tTb/ljYvpZU+fY4dRzsCvbSraAVnHOOt4C5GP"
    "fYPB3u/GNjEEcIvgEnzo7xNYRlKLb1pGJHMwul4vOA1q+bDzGtQC6iJd8bfiqE6GIPcRCb"
    "VVZZjCcsJQAkKUSPixD7ixGQBbAnaFzIcNtlhEMH/RyFuB29f4gkICF3c/OiZv2QAdo87S"
    "Ljn7UibdFpZjeau9prlgCvMs8zyDotmX/hSSvSQgESslER+uPYVkz21j3SkOI7qT5QUto4"
    "xjhvievTysEuGtwsA2xXjQ0EFDBw0dNHTQ0BvW0De24S+wuxbRJbM2HSqT9HDCDVUuuhEn"
    "x6Ma4uR4xD9+d1Q6fdfwkB64QqUWWZseyuyjo7q9VSubq5ZKLmiih2iH4KxN7wpbWulhS3"
    "xDfWN4XnhsKHLMMtr8owVZtn3oZlu1N7RxyuATmq0wftA9RHwvX3QW2NYwD+LzYHk67R33"
    "yFhyphjbyHA4MUnWrgD8jBi2te7EXnO30E+vr69y0E8vi9h+/jh9f/PmOJwHMsjaxswM+u"
    "zFMckDSzFgFZFXYV40Bdjrw24bnq+HAIoHCkVb4P3liQzKAWE4UXtkLebNOvSkrLmt7HHt"
    "XvaU+7pCds4IdOzqPX2fxBjsLCzGKRgVqQWJBUxH49MBQmRfhMg+IgpK5CtQIlVFVVIp8p"
    "b4ijcBU4aMLw2rJMjQ13SD9vXHL1m1M638jXPVoMa3U30SGpU0u/+rUZlG3nOHwtIWqq1H"
    "eGQNFAR52U8xonlpTbC+DMrK+I21xKrJoIiMCyVxucRKURMD4A4a5w44lWV8ZYxXWQZiWA"
    "0xTKICENkiNkVziepkkEFByOsQhsqhcN34tmQI7OFu9rCQZ/2NRFchvVsxqOvyXeUnTSba"
    "6/dt1s37RxT+ASXuK3d9WEWAxfk7KBnaNQsW/wLyrz9oD7zyCBeZyHoEouwARFlmckrg8o"
    "mHvFUfs04nkzrJkJMJPxmSXitEGI/M02X5MCcGwO/s5HfUoCg7e4CbZyc58XHF09un+LiD"
    "o9Cyu2AJ5urgqGAKQbEs0VKdoBiCJQiWIFj6hmDpJ7Sx8cuaEyplrg6rAqV5fhzUKqv0vg"
    "8rQhyoVX6FmyrUKvdt1hnEc6lWGdJ+GlhJc9ntPgozLYVU6oKZHFo1/b7eaNVqkB2KdwqX"
    "SKKWbJ1Rd8cASfq1zrMXrNeG+yKyj2VM5NjDepVvBbVaUKslL6JQqwW1WtKiKmmt1q/BjO"
    "yIK/IX3iATu3lqkzdmWMXJbpLRupsObzeBJY1e6Zdlj2nMH+DomcT1C2zIWgFKFyhdoHSB"
    "0m2H0iWIkNiHI9fy+a6CGTSh5PFeqmZSDTbImStc7ImefdpM0hbMvCyY9S+1qvljNRPIBB"
    "urFu36h3VbvVWhlK7LUjoQPQdN8mdrw31AQomuqUUfHt/WTznOxs2CjnzRthPJpcvwTV3H"
    "vRyvReTNXhNdtAVtTeaZBimn7fwbAVzzRoArSGQgkcks5oBE1gaqOyUyxjrbAKrv0jv1FN"
    "j89iKT/BgtFbfI97d/aEl8LIwYVkmP8WvpZQbvEh4H1w7SIgNPI5gHtJxEwwvNcLTohkNt"
    "9qI9oJcftHu8QY5h3Q+1e2tN/iQ9emLIvehn5DeRSMe7fzsozF9738KQR78U1idyz63YCe"
    "UsoH2C9gna58E3LkVnvY72SRfb0nTzechoeA+7GTQvcj4adiB0kkZiAKnA1QrGPuUse51M"
    "BieSfatyBLwdsCGShZd12JADZbe6eL1hdhiIrgwrM1nTMTujyIskjPubp+EnR/PJGqgtsK"
    "sZ2vY+Gn0uftTIrWjkt0aG42kkYtOiadMWZJS2PWmoHD42f/sacWP4IEPgCIEjBI4QOMqx"
    "JSk663UCx3CaSvPNjxzj8RA61ggd6XYpEqfE43sBLoQoEKJAiCJpiHJBtoR1KO28254yyt"
    "LAimMqwxYjGa2nB5c2W4D3JdFqITyA8ADCAwgP5NgOFJ31OuEBcijmjEV0irGNDIdTpJFa"
    "FaZ7RszamuHkk26d2en19VVuNqeXRW/188fp+5s3x+E0kkHW1gVgZBtGSesialPWBgSn5g"
    "UnenCiUE+71AKmo/HpmBm+uRKZjcQAJqPxyYhKL3TxMuCyZYflwHPXWPhtzUHbxcD09sSL"
    "nlu+p2+QGx9YXTPC4VhDcV95L3bQs0/x2cPhLZhC6Zk0/i0UJEHhjEqIAg8LhTPSoippb7"
    "mUtr7CO3htOmBYk9S2cQuMdoHG/jKgXkOUBuMJtoqbWsvXwmx/PxqNx2ejo/Hp+eTk7Gxy"
    "fpQsruVLVavs9PIDXWhz3sdu/ttnxDrVHqHP5AOA+pSZ8LbRIxLqApQYdBjLWs4CdxPKnt"
    "eIZM+5gew5o3XYkrHH3q4N2+a7iLFRjwLW8ejsNFm96D+q1qvbjxdXV4xGNMjzmHDyU00y"
    "JpBtske2CfF91oJn8KUWPXp8GwsYU8+nJp6pAYSLu8NFJk8oHiom/vBN0OdTDNNnS87Ihq"
    "JfGdlE01MrsokejZYjm0y0GLH+0Akbsnak4LN7HMRA1k7fZr1O1o4ifZnVPvSNfPtyKdb+"
    "M2PSIczEnwgMW1WYzcB1aRehvQiDknGPIq8miAP1s5t6dVhnnJoReKyUS/5TXjDrLh4+kt"
    "oXLgNLsEfu417gZk0B4BLAK2Q+bLDFEqQrjv/NWcmxoPQqQ4+4uJ7YaSipRR/apLRd4AnH"
    "F3TJucMxy68hIw+OWX4d8wyZl5B5KS+ikHkJmZfSoipp5uWV5TwMGLJk+PmwSo204xFN9w"
    "vAgWvGUBEfkFyD9gEgRIIQCUKkPKu+orNeR4gku/SKRZDw+afUohdpiYVTNCeTGgwUGcU/"
    "Q5Ney/v7KxctRBCOx/cR35ZOKYVQFUJVRRDNOrx1Mc3aAKoMVNPIoT6qORtAFWgVoFVkR1"
    "XoJLjtqtkAqP0/CC63wexGdrtyArI1kM1tMjJRgZdztN5ggr75coNM7OZpNe6gYRVJaKXD"
    "dTcd3zRlaOJth2s4v+7QRGEyFbWzmGODHsa241qh7bgish2XA1s4NqxNZmaG5y/6yvAYDe"
    "v4GOeMeoj06UkNoE9PuDjTS6W0IJZ3W13s0PEyQS7qGxdTatUbdIJz85n4vKqSnTX77MqS"
    "1557T1/0Mpj81MF4PGQOimcOqiU5gvq0W32qozmi541F7rbHrOct+yc0KzLJ3DzCEo14oI"
    "J85FrmasCqxN9eGVaW4Kdj2iy9h5i1y5j1EbmeJVZykTHpob/fSmRFXyoBhKPhPUT3uBYr"
    "cFzBChyXWQEz5U1rV3KlJt2XcR1mo2ysYOugm9nX/wd3CoLM"
)
