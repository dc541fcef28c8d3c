-- The language a customer uses on the business's site, from the last login token with a "locale"
-- claim: the emails Parley sends them (replies they missed, transcripts) are written in it.
ALTER TABLE customers ADD COLUMN locale TEXT NOT NULL DEFAULT '';
