-- customers_by_email serves only lookups by email (sign-in by email, the count of customers sharing
-- one), which all ask for a non-null email. Indexed whole, it also matched the lookup by external id
-- (workspace_id = $1 AND external_id = $2) through its workspace column, and on tables whose statistics
-- say they are empty or small (analysed while empty, as after migrating) the planner costs it the same as
-- the unique customers_by_external_id and took it, reading every customer of the workspace; a prepared
-- statement then keeps that plan as the table grows. Partial on email, it no longer matches that lookup.
DROP INDEX customers_by_email;
CREATE INDEX customers_by_email ON customers (workspace_id, email) WHERE email IS NOT NULL;
