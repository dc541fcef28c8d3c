-- Reserved for a migration in progress; replaced by its owner.
SELECT 1;
