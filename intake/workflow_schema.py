"""The intake database's tables for the needs workflow and its staff (SQL only, no imports,
so ``intake.store`` creates them on connect).

``staff`` and ``compound_areas``: the directory (``intake.staff_directory``); ``need_events``
(append-only) and ``need_state`` (its cache): the workflow (``intake.workflow``);
``staff_sessions``: signed-in staff (``intake.staff_auth``).
"""

WORKFLOW_SCHEMA = """
CREATE TABLE IF NOT EXISTS staff (
    staff_id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    role TEXT NOT NULL,
    unit TEXT,
    grids TEXT,
    streets TEXT,
    districts TEXT,
    categories TEXT,
    loaded_at TEXT NOT NULL,
    removed_at TEXT,
    -- sign-in credential (intake.staff_auth): key id to find the row, scrypt hash of the secret
    key_id TEXT UNIQUE,
    salt BLOB,
    token_hash BLOB,
    token_created_at TEXT
);
CREATE TABLE IF NOT EXISTS compound_areas (
    compound_id TEXT PRIMARY KEY,
    grid_code TEXT,
    community TEXT,
    street TEXT,
    district TEXT
);

CREATE TABLE IF NOT EXISTS need_events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    need_id INTEGER NOT NULL,
    at TEXT NOT NULL,
    actor_id TEXT NOT NULL,        -- staff id, or 'resident' / 'system'
    actor_role TEXT NOT NULL,      -- staff.csv role, or 'resident' / 'system'
    capacity TEXT NOT NULL,        -- handler / supervisor / resident / system
    action TEXT NOT NULL,
    from_state TEXT,
    to_state TEXT NOT NULL,
    level TEXT NOT NULL,
    unit TEXT NOT NULL,
    deadline TEXT,
    reopen_count INTEGER NOT NULL,
    resolved_by TEXT,
    note TEXT,                     -- staff's note; for 'resolve' the result the resident reads
    rating TEXT
);
CREATE INDEX IF NOT EXISTS need_events_by_need ON need_events (need_id, id);
CREATE TRIGGER IF NOT EXISTS need_events_append_only_u BEFORE UPDATE ON need_events
BEGIN SELECT RAISE(ABORT, 'need_events is append-only'); END;
CREATE TRIGGER IF NOT EXISTS need_events_append_only_d BEFORE DELETE ON need_events
BEGIN SELECT RAISE(ABORT, 'need_events is append-only'); END;
CREATE TABLE IF NOT EXISTS need_state (
    need_id INTEGER PRIMARY KEY,
    state TEXT NOT NULL,
    level TEXT NOT NULL,
    unit TEXT NOT NULL,
    deadline TEXT,
    reopen_count INTEGER NOT NULL,
    resolved_by TEXT,
    category TEXT NOT NULL,
    grid_code TEXT,
    street TEXT,
    district TEXT,
    escalations INTEGER NOT NULL,
    last_event_id INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS need_state_open ON need_state (level, unit, deadline)
    WHERE state IN ('assigned', 'in_progress');
CREATE INDEX IF NOT EXISTS need_state_due ON need_state (deadline)
    WHERE state IN ('assigned', 'in_progress') AND level <> 'city';
-- Results waiting for a check, per area in need order: the check list reads its first
-- rows without sorting the area's results.
CREATE INDEX IF NOT EXISTS need_state_check_street2 ON need_state (street, need_id)
    WHERE state IN ('resolved', 'reopened');
CREATE INDEX IF NOT EXISTS need_state_check_district2 ON need_state (district, need_id)
    WHERE state IN ('resolved', 'reopened');
CREATE INDEX IF NOT EXISTS need_state_grid ON need_state (grid_code, need_id);
CREATE INDEX IF NOT EXISTS need_state_state_level ON need_state (state, level);
CREATE INDEX IF NOT EXISTS need_state_street_level ON need_state (street, state, level);
CREATE INDEX IF NOT EXISTS need_state_district_level ON need_state (district, state, level);
CREATE TABLE IF NOT EXISTS staff_sessions (
    session_hash BLOB PRIMARY KEY,
    staff_id TEXT NOT NULL,
    csrf TEXT NOT NULL,
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS staff_sessions_by_staff ON staff_sessions (staff_id);
"""
