/**
 * Fields of a ForceScheduler's form (Buildbot's util.StringParameter and friends,
 * schedulers/forcesched.py). Each names a property (or, in a CodebaseParameter, a source stamp
 * field) with its label, default and validation.
 */

export interface BaseParameterOptions {
  /** The property set from this field; not 'owner', 'builderNames' or 'builderid' (reserved). */
  name: string;
  label?: string;
  tablabel?: string;
  required?: boolean;
  /** A value must match (at the start, like Python's re.match). */
  regex?: string | RegExp;
  hide?: boolean;
  maxsize?: number;
  autopopulate?: Record<string, Record<string, unknown>>;
}

export interface StringParameterOptions extends BaseParameterOptions {
  default?: string;
  size?: number;
}

export interface TextParameterOptions extends StringParameterOptions {
  cols?: number;
  rows?: number;
}

export interface IntParameterOptions extends BaseParameterOptions {
  default?: number;
  size?: number;
}

export interface BooleanParameterOptions extends BaseParameterOptions {
  default?: boolean;
}

export interface ChoiceStringParameterOptions extends BaseParameterOptions {
  choices: string[];
  /** Reject values that are not among the choices (default true). */
  strict?: boolean;
  multiple?: boolean;
  default?: string | string[];
}

export interface FixedParameterOptions extends BaseParameterOptions {
  default: string;
}

export interface UserNameParameterOptions extends Omit<StringParameterOptions, 'name'> {
  name?: string;
  /** Require `Name <email>` (default true). */
  need_email?: boolean;
}

export type ForceParameter =
  | StringParameter
  | TextParameter
  | IntParameter
  | BooleanParameter
  | ChoiceStringParameter
  | FixedParameter
  | UserNameParameter;

export interface CodebaseParameterOptions {
  /** The codebase ('' for the default one). */
  codebase: string;
  name?: string;
  label?: string;
  /**
   * Each source stamp field: a parameter, a string (a fixed value), or null to leave the field
   * out. Default: a StringParameter labelled "Branch:", "Revision:"…
   */
  branch?: ForceParameter | string | null;
  revision?: ForceParameter | string | null;
  repository?: ForceParameter | string | null;
  project?: ForceParameter | string | null;
  hide?: boolean;
}

export class StringParameter {
  readonly kind = 'StringParameter' as const;
  readonly options: Readonly<StringParameterOptions>;
  constructor(options: StringParameterOptions) {
    this.options = { ...options };
  }
}

export class TextParameter {
  readonly kind = 'TextParameter' as const;
  readonly options: Readonly<TextParameterOptions>;
  constructor(options: TextParameterOptions) {
    this.options = { ...options };
  }
}

export class IntParameter {
  readonly kind = 'IntParameter' as const;
  readonly options: Readonly<IntParameterOptions>;
  constructor(options: IntParameterOptions) {
    this.options = { ...options };
  }
}

export class BooleanParameter {
  readonly kind = 'BooleanParameter' as const;
  readonly options: Readonly<BooleanParameterOptions>;
  constructor(options: BooleanParameterOptions) {
    this.options = { ...options };
  }
}

export class ChoiceStringParameter {
  readonly kind = 'ChoiceStringParameter' as const;
  readonly options: Readonly<ChoiceStringParameterOptions>;
  constructor(options: ChoiceStringParameterOptions) {
    this.options = { ...options };
  }
}

export class FixedParameter {
  readonly kind = 'FixedParameter' as const;
  readonly options: Readonly<FixedParameterOptions>;
  constructor(options: FixedParameterOptions) {
    this.options = { ...options };
  }
}

export class UserNameParameter {
  readonly kind = 'UserNameParameter' as const;
  readonly options: Readonly<UserNameParameterOptions>;
  constructor(options: UserNameParameterOptions = {}) {
    this.options = { ...options };
  }
}

export class CodebaseParameter {
  readonly kind = 'CodebaseParameter' as const;
  readonly options: Readonly<CodebaseParameterOptions>;
  constructor(options: CodebaseParameterOptions) {
    this.options = { ...options };
  }
}

export type ForceParameterKind = ForceParameter['kind'];
