-- Signed attributes (issue 11). A verified customer's attributes and the attributes a session's visitor
-- claimed are each a JSON object kept as canonical text (package attributes: sorted keys, numbers as
-- their exact literal), '{}' when there are none. A routing rule may require a verified attribute.
ALTER TABLE customers ADD COLUMN attributes TEXT NOT NULL DEFAULT '{}';
ALTER TABLE sessions ADD COLUMN claimed_attributes TEXT NOT NULL DEFAULT '{}';
ALTER TABLE routing_rules ADD COLUMN attribute_key TEXT NOT NULL DEFAULT '';
ALTER TABLE routing_rules ADD COLUMN attribute_value TEXT NOT NULL DEFAULT '';
