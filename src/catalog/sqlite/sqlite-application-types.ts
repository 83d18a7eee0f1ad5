import type {
  ApplicationTypeCatalog,
  ApplicationTypeQuery,
  ApplicationTypeRecord,
  ApplicationTypeStatus,
  Registration,
  UnitUse,
} from '../application-types.ts';
import type { FileMutation, MutationResult } from '../catalog.ts';
import { APPLICATION_TYPES_SCHEMA } from './application-types-schema.ts';
import type { SqliteCatalog } from './sqlite-catalog.ts';

interface TypeRow {
  name: string;
  version: string;
  status: ApplicationTypeStatus;
  status_details: string;
  sequence: number;
  default_parameters: string;
  application_manifest: string;
  service_manifests: string;
}

interface UnitRow {
  version: string;
  unit: string;
  checksum: string;
  paths: string;
}

const toRecord = (row: TypeRow): ApplicationTypeRecord => ({
  name: row.name,
  version: row.version,
  status: row.status,
  statusDetails: row.status_details,
  sequence: row.sequence,
  defaultParameters: JSON.parse(row.default_parameters),
  applicationManifest: row.application_manifest,
  serviceManifests: JSON.parse(row.service_manifests),
});

/** Application types in the SQLite catalog's database, in its transactions. */
export class SqliteApplicationTypes implements ApplicationTypeCatalog {
  private readonly sql;

  constructor(private readonly catalog: SqliteCatalog) {
    const db = catalog.db;
    db.exec(APPLICATION_TYPES_SCHEMA);
    this.sql = {
      get: db.prepare<[string, string], TypeRow>(
        'SELECT * FROM application_types WHERE name = ? AND version = ?',
      ),
      list: db.prepare<Record<string, string | number | null>, TypeRow>(
        `SELECT * FROM application_types
         WHERE (@name IS NULL OR name = @name) AND (@version IS NULL OR version = @version)
           AND (@afterName IS NULL OR name > @afterName
                OR (name = @afterName AND version > @afterVersion))
         ORDER BY name, version LIMIT @limit`,
      ),
      otherCasing: db.prepare<[string, string], TypeRow>(
        'SELECT * FROM application_types WHERE name_key = ? AND name <> ? LIMIT 1',
      ),
      insert: db.prepare(
        `INSERT INTO application_types (name, version, name_key, status) VALUES (?, ?, ?, ?)
         ON CONFLICT (name, version) DO UPDATE SET status = excluded.status,
           status_details = '', sequence = 0`,
      ),
      setStatus: db.prepare(
        `UPDATE application_types SET status = ?, status_details = ?
         WHERE name = ? AND version = ?`,
      ),
      makeAvailable: db.prepare(
        `UPDATE application_types SET status = 'Available', status_details = '',
           sequence = (SELECT COALESCE(MAX(sequence), 0) + 1 FROM application_types),
           default_parameters = @defaultParameters, application_manifest = @applicationManifest,
           service_manifests = @serviceManifests
         WHERE name = @name AND version = @version AND status = 'Provisioning'`,
      ),
      deleteRow: db.prepare('DELETE FROM application_types WHERE name = ? AND version = ?'),
      deleteProvisioning: db.prepare(
        "DELETE FROM application_types WHERE name = ? AND version = ? AND status = 'Provisioning'",
      ),
      units: db.prepare<[string], UnitRow>(
        'SELECT version, unit, checksum, paths FROM application_type_units WHERE name = ?',
      ),
      versionUnits: db.prepare<[string, string], UnitRow>(
        `SELECT version, unit, checksum, paths FROM application_type_units
         WHERE name = ? AND version = ?`,
      ),
      otherUses: db.prepare<[string, string, string], { n: number }>(
        `SELECT COUNT(*) AS n FROM application_type_units
         WHERE name = ? AND unit = ? AND version <> ?`,
      ),
      otherVersionsWithUnits: db.prepare<[string, string], { n: number }>(
        'SELECT COUNT(*) AS n FROM application_type_units WHERE name = ? AND version <> ?',
      ),
      insertUnit: db.prepare(
        `INSERT INTO application_type_units (name, version, unit, checksum, paths)
         VALUES (?, ?, ?, ?, ?)`,
      ),
      deleteUnits: db.prepare('DELETE FROM application_type_units WHERE name = ? AND version = ?'),
      interrupted: db.prepare<[], TypeRow>(
        "SELECT * FROM application_types WHERE status IN ('Provisioning', 'Unprovisioning')",
      ),
    };
  }

  async get(name: string, version: string) {
    const row = this.sql.get.get(name, version);
    return row && toRecord(row);
  }

  async list(query: ApplicationTypeQuery) {
    return this.sql.list
      .all({
        name: query.name ?? null,
        version: query.version ?? null,
        afterName: query.after?.name ?? null,
        afterVersion: query.after?.version ?? null,
        limit: query.limit,
      })
      .map(toRecord);
  }

  async registeredUnits(name: string) {
    const units = new Map<string, UnitUse>();
    for (const row of this.sql.units.all(name)) {
      const use = units.get(row.unit) ?? {
        checksum: row.checksum,
        paths: JSON.parse(row.paths) as string[],
        versions: [],
      };
      use.versions.push(row.version);
      units.set(row.unit, use);
    }
    return units;
  }

  async claimProvision(name: string, version: string) {
    return this.catalog.db
      .transaction(() => {
        const existing = this.sql.get.get(name, version);
        if (existing && existing.status !== 'Failed') return toRecord(existing);
        const other = this.sql.otherCasing.get(name.toLowerCase(), name);
        if (other) return toRecord(other);
        this.sql.insert.run(name, version, name.toLowerCase(), 'Provisioning');
        return undefined;
      })
      .immediate();
  }

  async register(registration: Registration, files: FileMutation): Promise<MutationResult> {
    const { name, version } = registration;
    return this.catalog.db
      .transaction(() => {
        const changed = this.sql.makeAvailable.run({
          name,
          version,
          defaultParameters: JSON.stringify(registration.defaultParameters),
          applicationManifest: registration.applicationManifest,
          serviceManifests: JSON.stringify(registration.serviceManifests),
        });
        if (changed.changes !== 1) {
          throw new Error(`${name} ${version} is no longer being provisioned`);
        }
        this.sql.deleteUnits.run(name, version);
        for (const unit of registration.units) {
          this.sql.insertUnit.run(
            name,
            version,
            unit.key,
            unit.checksum,
            JSON.stringify(unit.paths),
          );
        }
        return this.catalog.applyFileMutationNow(files);
      })
      .immediate();
  }

  async failProvision(name: string, version: string, details: string) {
    this.sql.setStatus.run('Failed', details, name, version);
  }

  async abandonProvision(name: string, version: string) {
    this.sql.deleteProvisioning.run(name, version);
  }

  async beginUnprovision(name: string, version: string) {
    return this.catalog.db
      .transaction(() => {
        const row = this.sql.get.get(name, version);
        if (row && (row.status === 'Available' || row.status === 'Failed')) {
          this.sql.setStatus.run('Unprovisioning', '', name, version);
        }
        return row && toRecord(row);
      })
      .immediate();
  }

  async unregister(name: string, version: string, typeFolderKey: string) {
    return this.catalog.db
      .transaction(() => {
        const mutation: Required<FileMutation> = { removeFiles: [], removeTrees: [], puts: [] };
        if (this.sql.otherVersionsWithUnits.get(name, version)!.n === 0) {
          mutation.removeTrees.push(typeFolderKey);
        } else {
          for (const unit of this.sql.versionUnits.all(name, version)) {
            if (this.sql.otherUses.get(name, unit.unit, version)!.n > 0) continue;
            const paths: string[] = JSON.parse(unit.paths);
            mutation.removeFiles.push(...paths);
            mutation.removeTrees.push(...paths);
          }
        }
        this.sql.deleteUnits.run(name, version);
        this.sql.deleteRow.run(name, version);
        return this.catalog.applyFileMutationNow(mutation);
      })
      .immediate();
  }

  async interrupted() {
    return this.sql.interrupted.all().map(toRecord);
  }
}
