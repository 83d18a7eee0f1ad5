/**
 * The one error type the server answers with. Every client mistake and every known failure is a
 * FabricError built through the catalogue below; the HTTP layer turns it into
 * `{"Error":{"Code","Message"}}` with its status.
 */
export class FabricError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'FabricError';
  }

  /** The wire form every client reads: `{"Error":{"Code","Message"}}`. */
  toBody(): string {
    return JSON.stringify({ Error: { Code: this.code, Message: this.message } });
  }
}

export const errors = {
  invalidArgument: (message: string) => new FabricError(400, 'E_INVALIDARG', message),
  pathTooLong: (message: string) => new FabricError(400, 'FABRIC_E_PATH_TOO_LONG', message),
  reservedDirectory: (
    path: string,
    why = 'is a reserved image store folder and cannot be deleted',
  ) => new FabricError(400, 'FABRIC_E_IMAGEBUILDER_RESERVED_DIRECTORY_ERROR', `'${path}' ${why}`),
  fileNotFound: (message: string) => new FabricError(404, 'FABRIC_E_FILE_NOT_FOUND', message),
  directoryNotFound: (message: string) =>
    new FabricError(404, 'FABRIC_E_DIRECTORY_NOT_FOUND', message),
  pathConflict: (message: string) => new FabricError(409, 'FABRIC_E_PATH_CONFLICT', message),
  valueTooLarge: (message: string) => new FabricError(413, 'FABRIC_E_VALUE_TOO_LARGE', message),
  insufficientStorage: (message: string) =>
    new FabricError(507, 'FABRIC_E_IMAGESTORE_IOERROR', message),
  timeout: (message: string) => new FabricError(504, 'FABRIC_E_TIMEOUT', message),
  notReady: (message: string) => new FabricError(503, 'FABRIC_E_NOT_READY', message),
  internal: (requestId: string) =>
    new FabricError(
      500,
      'E_FAIL',
      `Internal server error; see the server log for request ${requestId}`,
    ),
  invalidUploadSessionId: (message: string) =>
    new FabricError(400, 'FABRIC_E_INVALID_UPLOAD_SESSION_ID', message),
  rangeNotSatisfiable: (message: string) =>
    new FabricError(400, 'FABRIC_E_UPLOAD_SESSION_RANGE_NOT_SATISFIABLE', message),
  uploadSessionIdConflict: (message: string) =>
    new FabricError(409, 'FABRIC_E_UPLOAD_SESSION_ID_CONFLICT', message),
  uploadSessionNotFound: (message: string) =>
    new FabricError(404, 'FABRIC_E_UPLOAD_SESSION_NOT_FOUND', message),
  imageBuilderValidation: (message: string) =>
    new FabricError(400, 'FABRIC_E_IMAGEBUILDER_VALIDATION_ERROR', message),
  applicationTypeNotFound: (message: string) =>
    new FabricError(404, 'FABRIC_E_APPLICATION_TYPE_NOT_FOUND', message),
  applicationTypeAlreadyExists: (message: string) =>
    new FabricError(409, 'FABRIC_E_APPLICATION_TYPE_ALREADY_EXISTS', message),
  applicationTypeProvisionInProgress: (message: string) =>
    new FabricError(409, 'FABRIC_E_APPLICATION_TYPE_PROVISION_IN_PROGRESS', message),
  imageBuilderReservedDirectory: (message: string) =>
    new FabricError(400, 'FABRIC_E_IMAGEBUILDER_RESERVED_DIRECTORY_ERROR', message),
  serviceManifestNotFound: (message: string) =>
    new FabricError(404, 'FABRIC_E_SERVICE_MANIFEST_NOT_FOUND', message),
};

/** Maps a failure of the disk or the catalog that is no bug of ours to a clear FabricError. */
export function fromSystemError(error: unknown): FabricError | undefined {
  const code = (error as { code?: string }).code;
  if (code === 'ENOSPC' || code === 'EDQUOT' || code === 'SQLITE_FULL') {
    return errors.insufficientStorage(
      `The store's volume is full (${code}); delete content or unprovision types to free space`,
    );
  }
  return undefined;
}
