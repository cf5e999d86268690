-- The ID token's email_verified says what is known: only an upstream IdP verifies addresses here.
ALTER TABLE "app_user" ADD COLUMN "email_verified_at" TIMESTAMP(3);
