-- When a customer first logged in verified: customer.verified announces that moment once, whether the
-- login created the customer or the customers API had created it before. Customers that exist already
-- count as announced (at their creation), so an upgrade sends no burst of old events.
ALTER TABLE customers ADD COLUMN first_verified_at INTEGER;
UPDATE customers SET first_verified_at = created_at;
