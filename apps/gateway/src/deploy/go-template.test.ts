// The renderer behind the Helm chart's tests, held to what Go's text/template and Helm produce for the same input
// (expected outputs as `helm template` renders them).
import { describe, expect, it } from 'vitest';
import { renderGoTemplate, TemplateError } from './go-template.ts';

const data = {
  Release: { Name: 'gw' },
  Values: {
    port: 8787,
    empty: '',
    list: ['a', 'b'],
    map: { zeta: 'z', alpha: 'a', blank: '' },
    nested: { key: 'value', list: [1, 2] },
    drainMs: 30000,
  },
};

describe('renderGoTemplate', () => {
  it.each([
    ['fields and quote', 'name: {{ .Release.Name }}-x port: {{ .Values.port | quote }}', 'name: gw-x port: "8787"'],
    ['a missing field renders empty (helm drops "<no value>")', 'a: [{{ .Values.missing }}]', 'a: []'],
    [
      'trim markers eat the whitespace and newlines on their side',
      'a:\n  {{- " b" }}\n  {{ "c" -}}\n  d',
      'a: b\n  cd',
    ],
    ['comments', 'x{{/* nothing */}}y', 'xy'],
    ['if / else if / else', '{{ if .Values.empty }}1{{ else if .Values.list }}2{{ else }}3{{ end }}', '2'],
    [
      'not, and, or',
      '{{ not .Values.empty }} {{ and .Values.port .Values.empty }} {{ or .Values.empty "x" }}',
      'true  x',
    ],
    [
      'range over a map in key order, with variables',
      '{{ range $k, $v := .Values.map }}{{ $k }}={{ $v }};{{ end }}',
      'alpha=a;blank=;zeta=z;',
    ],
    ['range over a list sets the dot', '{{ range .Values.list }}<{{ . }}>{{ end }}', '<a><b>'],
    ['range else', '{{ range .Values.none }}x{{ else }}none{{ end }}', 'none'],
    [
      'with sets the dot, else when empty',
      '{{ with .Values.nested }}{{ .key }}{{ end }}{{ with .Values.empty }}x{{ else }}y{{ end }}',
      'valuey',
    ],
    ['$ is the root inside range', '{{ range .Values.list }}{{ $.Release.Name }}{{ end }}', 'gwgw'],
    [
      'toYaml (keys sorted) and nindent',
      'n:{{ toYaml .Values.map | nindent 2 }}',
      'n:\n  alpha: a\n  blank: ""\n  zeta: z',
    ],
    ['toYaml of lists under a key', '{{ toYaml .Values.nested }}', 'key: value\nlist:\n- 1\n- 2'],
    ['add and div on integers (sprig: int64)', '{{ add 5 (div .Values.drainMs 1000) 5 }}', '40'],
    ['default and printf', '{{ .Values.empty | default (printf "%s-keys" .Release.Name) }}', 'gw-keys'],
  ])('%s', (_, template, expected) => {
    expect(renderGoTemplate(template, data)).toBe(expected);
  });

  it('refuses what it does not know rather than guess', () => {
    expect(() => renderGoTemplate('{{ include "x" . }}', data)).toThrow(TemplateError);
    expect(() => renderGoTemplate('{{ define "x" }}{{ end }}', data)).toThrow(/outside the supported subset/);
    expect(() => renderGoTemplate('{{ if .Values.port }}x', data)).toThrow(/without end/);
    expect(() => renderGoTemplate('{{ .Values.nested }}', data)).toThrow(/toYaml/);
  });

  it('fails with the message of fail', () => {
    expect(() => renderGoTemplate('{{ fail "no key" }}', data)).toThrow('no key');
  });
});
