/**
 * Checks values against schemas of the OpenAPI document with Ajv (JSON Schema 2020-12, which
 * OpenAPI 3.1 uses). The server checks request bodies with it; tests check real responses.
 */
import { Ajv2020, type ErrorObject, type ValidateFunction } from 'ajv/dist/2020.js';
import { openApiDocument } from './openapi.ts';
import type { FieldProblem } from './problems.ts';

const DOCUMENT_ID = 'rebill-api';


let ajv: Ajv2020 | null = null;
const compiled = new Map<object, ValidateFunction>();

function instance(): Ajv2020 {
  if (!ajv) {
    // Not strict: the document has OpenAPI keywords (paths, info) beside the schemas.
    ajv = new Ajv2020({ strict: false, allErrors: true, validateFormats: false });
    ajv.addSchema(openApiDocument as unknown as object, DOCUMENT_ID);
  }
  return ajv;
}

/** A validator for one schema of the document (its `#/components/...` references resolve). */
export function validatorFor(schema: object): ValidateFunction {
  let validate = compiled.get(schema);
  if (!validate) {
    const rooted = JSON.parse(JSON.stringify(schema).replaceAll('"#/components/', `"${DOCUMENT_ID}#/components/`)) as object;
    validate = instance().compile(rooted);
    compiled.set(schema, validate);
  }
  return validate;
}

/** Every problem with `value`, each naming the field (a dotted path; null for the body as a whole). */
export function schemaProblems(schema: object, value: unknown): FieldProblem[] {
  const validate = validatorFor(schema);
  if (validate(value)) return [];
  return (validate.errors ?? []).map(describe);
}

function describe(error: ErrorObject): FieldProblem {
  const path = error.instancePath.split('/').slice(1).join('.');
  const join = (name: string) => (path ? `${path}.${name}` : name);
  switch (error.keyword) {
    case 'required': {
      const field = join(String(error.params.missingProperty));
      return { field, message: `${field} is required` };
    }
    case 'additionalProperties': {
      const field = join(String(error.params.additionalProperty));
      return { field, message: `${field} is not a field of this request: remove it (the API reference at /api/v1/openapi.json lists the fields)` };
    }
    case 'enum':
      return { field: path || null, message: `${path || 'the body'} must be one of ${(error.params.allowedValues as unknown[]).join(', ')}` };
    case 'pattern':
      return { field: path || null, message: `${path} has the wrong format: ${path === 'amount' ? 'a decimal string such as "9.99"' : `it must match ${String(error.params.pattern)}`}` };
    default:
      return { field: path || null, message: `${path || 'the body'} ${error.message ?? 'is not valid'}` };
  }
}
