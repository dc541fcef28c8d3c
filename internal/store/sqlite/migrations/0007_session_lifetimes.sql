-- Reserved: filled in by the change that owns it (issue 11).
SELECT 1;
