-- Values in the public tables of one rating date that look like personal data:
-- an 18-digit resident ID number or an 11-digit mainland mobile number.
SELECT 'marts.ratings' AS tbl, compound_id, name AS value
FROM marts.ratings
WHERE as_of = ? AND regexp_matches(name || ' ' || coalesce(street, '') || ' ' || coalesce(rules, ''),
                                   '(^|[^0-9])([1-9][0-9]{16}[0-9Xx]|1[3-9][0-9]{9})([^0-9]|$)')
UNION ALL
SELECT 'marts.public_stats', compound_id, category_group
FROM marts.public_stats
WHERE as_of = ? AND regexp_matches(category_group, '[0-9]{11}')
