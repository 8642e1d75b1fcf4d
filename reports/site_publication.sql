-- The publication file of a rating date (OUT_DIR/<as_of>/public.sqlite): everything the
-- public pages show, already suppressed. Written once by the nightly run, then read-only.
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT) WITHOUT ROWID;
CREATE TABLE compounds (
  compound_id TEXT PRIMARY KEY, slug TEXT NOT NULL UNIQUE, name TEXT, aliases TEXT, district TEXT,
  street TEXT, community TEXT, street_slug TEXT, safety_index REAL, stars INTEGER, status TEXT,
  downgrade_kinds TEXT, lapse_on TEXT, months_withheld INTEGER, street_avg REAL, street_five REAL,
  district_avg REAL, district_five REAL, plaque_serial TEXT, plaque_path TEXT,
  -- this month's needs and check-ins: a count NULL is under the threshold (少量); a share NULL
  -- is not shown (nothing to share, or a part of it under the threshold)
  needs_received INTEGER, needs_closed INTEGER, checkins INTEGER, on_time_share REAL, satisfaction_share REAL,
  appeal_filed TEXT, appeal_status TEXT, appeal_outcome TEXT, reply_text TEXT, leading TEXT
);
CREATE INDEX compounds_street ON compounds (street_slug, name, compound_id);
-- n NULL: fewer than the threshold (shown as 少量); groups with no incident have no row.
CREATE TABLE groups (compound_id TEXT, ord INTEGER, label TEXT, n INTEGER,
                     PRIMARY KEY (compound_id, ord)) WITHOUT ROWID;
-- n NULL: fewer than the threshold, or the compound's monthly counts are withheld.
CREATE TABLE months (compound_id TEXT, month TEXT, n INTEGER, safety_index REAL,
                     PRIMARY KEY (compound_id, month)) WITHOUT ROWID;
CREATE TABLE streets (street_slug TEXT PRIMARY KEY, district TEXT, street TEXT, n INTEGER) WITHOUT ROWID;
-- district NULL: the whole city.
CREATE TABLE districts (district TEXT, n INTEGER, n_rated INTEGER, n_five INTEGER, avg REAL, five REAL);
CREATE TABLE plaques (
  serial TEXT PRIMARY KEY, compound_id TEXT, stars INTEGER, rating_year INTEGER, issued_on TEXT,
  status_changed_on TEXT, status TEXT, current_serial TEXT, current_stars INTEGER, path TEXT
) WITHOUT ROWID;
