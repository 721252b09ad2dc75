// The service controller's own failures (retried with the queue's back-off unless wrapped in a TerminalError).
import { BerthError } from '@berth/api';

export type ServiceControllerErrorCode = 'BERTH_SERVICE_CACHE_LAG' | 'BERTH_SERVICE_INVALID' | 'BERTH_SERVICE_CREATE';

export class ServiceControllerError extends BerthError<ServiceControllerErrorCode> {
  constructor(code: ServiceControllerErrorCode, message: string, options?: { readonly cause?: unknown }) {
    super(code, message, options);
  }
}
