-- A service principal is the account a machine client (client_credentials) acts as: no password,
-- no upstream identity, never signs in through a browser.
ALTER TABLE "app_user" ADD COLUMN "kind" TEXT NOT NULL DEFAULT 'person';
