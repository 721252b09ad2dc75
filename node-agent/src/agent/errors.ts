// Misuse of startNodeAgent: an option that cannot work, refused before any I/O.
import { BerthError } from '@berth/api';

export class NodeAgentOptionError extends BerthError<'InvalidOption'> {
  /** The option's name, e.g. `workers`. */
  readonly option: string;

  constructor(option: string, message: string) {
    super('InvalidOption', `${option}: ${message}`);
    this.option = option;
  }
}
