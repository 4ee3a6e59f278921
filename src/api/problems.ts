/** Bad API input, each problem naming its field (null: the request as a whole). */
import { ValidationError } from '../lib/errors.ts';

export interface FieldProblem {
  field: string | null;
  message: string;
}

export class InvalidRequest extends ValidationError {
  constructor(readonly fieldProblems: FieldProblem[]) {
    super(fieldProblems.map((p) => p.message));
  }

  static of(field: string | null, message: string): InvalidRequest {
    return new InvalidRequest([{ field, message }]);
  }
}
