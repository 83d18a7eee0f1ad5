/**
 * Application type tables, on the catalog's database. `application_types` holds one row per
 * (name, version); `application_type_units` records which registered units each version uses, so
 * unprovisioning frees exactly the units no other version of the type still references.
 */
export const APPLICATION_TYPES_SCHEMA = `
CREATE TABLE IF NOT EXISTS application_types (
  name                 TEXT NOT NULL,
  version              TEXT NOT NULL,
  name_key             TEXT NOT NULL,
  status               TEXT NOT NULL,
  status_details       TEXT NOT NULL DEFAULT '',
  sequence             INTEGER NOT NULL DEFAULT 0,
  default_parameters   TEXT NOT NULL DEFAULT '[]',
  application_manifest TEXT NOT NULL DEFAULT '',
  service_manifests    TEXT NOT NULL DEFAULT '[]',
  PRIMARY KEY (name, version)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS application_types_by_name_key ON application_types (name_key);
CREATE INDEX IF NOT EXISTS application_types_by_status ON application_types (status);

CREATE TABLE IF NOT EXISTS application_type_units (
  name     TEXT NOT NULL,
  version  TEXT NOT NULL,
  unit     TEXT NOT NULL,
  checksum TEXT NOT NULL,
  paths    TEXT NOT NULL,
  PRIMARY KEY (name, version, unit)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS application_type_units_by_unit ON application_type_units (name, unit);
`;
