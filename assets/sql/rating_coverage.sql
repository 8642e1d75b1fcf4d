-- Registry compounds without exactly one rating on the date (n = 0 or n > 1), and ratings
-- of the date for compounds the registry does not hold (n = -1). Read from the warehouse
-- as written, not from the frame the engine returned.
SELECT c.compound_id, count(r.compound_id) AS n
FROM core.compounds c
LEFT JOIN (SELECT compound_id FROM marts.ratings WHERE as_of = ?) r USING (compound_id)
GROUP BY c.compound_id
HAVING count(r.compound_id) <> 1
UNION ALL
SELECT r.compound_id, -1 AS n
FROM marts.ratings r
WHERE r.as_of = ? AND r.compound_id NOT IN (SELECT compound_id FROM core.compounds)
ORDER BY 1
