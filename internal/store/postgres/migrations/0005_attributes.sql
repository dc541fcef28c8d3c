-- Signed attributes (issue 11). A verified customer's attributes and the attributes a session's visitor
-- claimed are each a JSON object kept as canonical text (package attributes: sorted keys, numbers as
-- their exact literal), '{}' when there are none. text, not jsonb: jsonb would rewrite numbers (2E3
-- becomes 2000) and reorder keys, and Parley never queries inside them.
ALTER TABLE customers ADD COLUMN attributes text NOT NULL DEFAULT '{}';
ALTER TABLE sessions ADD COLUMN claimed_attributes text NOT NULL DEFAULT '{}';
ALTER TABLE routing_rules ADD COLUMN attribute_key text NOT NULL DEFAULT '';
ALTER TABLE routing_rules ADD COLUMN attribute_value text NOT NULL DEFAULT '';
