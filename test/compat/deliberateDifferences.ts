/**
 * Where our /api/v2 answers differ from Buildbot 3.7's on purpose, with the reason. The same table is in
 * docs/web.md, "Compatibility with Buildbot's REST API". `path` matches the request (without /api/v2/),
 * `at` where the difference is (`status`, `text`, `content-type`, `content-disposition`, or a JSON
 * location such as `$.error`).
 */
export interface DeliberateDifference {
  path: RegExp;
  at: RegExp;
  reason: string;
}

const ANY = /.*/;

export const DELIBERATE: readonly DeliberateDifference[] = [
  {
    path: /^$/,
    at: ANY,
    reason: "/api/v2/ lists the root links; Buildbot 3.7 answers 404 'Invalid path: ' (its root pattern '/' never matches a request path)",
  },
  {
    path: /^(builds|buildrequests|buildsets)\?(.*&)?(limit|offset)=/,
    at: /^\$\.meta\.total$/,
    reason:
      'meta.total counts every match; Buildbot 3.7 drops the count of these SQL-paged endpoints when it converts the rows, ' +
      "so its total is the page's length (as it is, and stays with us, for /changes)",
  },
  {
    path: /^(plain:)?(builds\/987654|logs\/\d+\/contents\?offset=99999)$/,
    at: /^(\$\.error|text)$/,
    reason: "the 404 names the pattern that matched and the arguments as JSON; Buildbot's embeds Python reprs (ResultSpec(**{...}))",
  },
  {
    path: /__nosuch=/,
    at: ANY,
    reason: 'an unknown filter operator is a 400 naming it; Buildbot ignores the parameter and returns everything unfiltered',
  },
  {
    path: /[?&]limit=-/,
    at: ANY,
    reason: 'a negative limit is a 400; Buildbot passes it to SQL (sqlite: no limit)',
  },
  {
    path: /^changes\/\d+\/properties_list$/,
    at: ANY,
    reason: "the change's properties; Buildbot 3.7 answers 500 (AttributeError: no getChangeProperties)",
  },
  {
    path: /^application\.spec$/,
    at: /^\$\.meta\.total$/,
    reason: "the spec also lists our extensions' paths (left out of this comparison)",
  },
  {
    path: /^application\.spec$/,
    at: /^\$\.specs\.[^.]+\.type_spec\.fields\.(urls|connected_to|configured_on|sourcestamp|sourcestamps|patch|master|properties)\./,
    reason: 'nested objects (urls, connected_to, configured_on, sourcestamp(s), patch, master, properties) are described as jsonobject, without their own fields',
  },
  {
    path: /^application\.spec$/,
    at: /^\$\.specs\.[^.]+\/properties\.type/,
    reason: "the properties endpoints' type is described as the entity 'property' with no fields; Buildbot says 'sourcedproperties'",
  },
  {
    path: /^application\.spec$/,
    at: /^\$\.specs\.[^.]+\/propert(y|ies)_list\.type_spec\.fields\.value\./,
    reason: "property_list values are described as string, which they are (JSON text); Buildbot's spec says jsonobject",
  },
  {
    path: /^application\.spec$/,
    at: /^\$\.specs\.logchunks$/,
    reason: "Buildbot's spec lists a bare 'logchunks' path that it does not serve; we list only paths that answer",
  },
  {
    path: /^logchunks$/,
    at: ANY,
    reason: "404 'Invalid path: logchunks'; Buildbot 3.7 answers 500 (KeyError('builderid'))",
  },
];

/** The index of the table entry that allows this difference, or undefined. */
export function isDeliberate(path: string, at: string): number | undefined {
  const i = DELIBERATE.findIndex((d) => d.path.test(path) && d.at.test(at));
  return i < 0 ? undefined : i;
}
