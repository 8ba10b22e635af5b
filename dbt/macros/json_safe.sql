{#-
    Total conversions of small jsonb values (record columns declared `jsonb`, `item -> 'key'`) to SQL types:
    each returns the typed value or null and never raises, whatever the JSON holds. `json_issue` says what was
    wrong with one value as 'field:problem'. Contract and problem codes: macros/_json_safe__macros.yml.

    Casts run only behind a CASE that has proven them safe (regular expression, then range), because the
    order in which AND operands are evaluated is not defined and a cast that fails raises.
-#}

{#- ISO 8601 as Graph writes it: a date of 2000-2099, optionally a time with 0-15 fractional digits and an offset. -#}
{% macro _json_timestamp_pattern() -%}
    '^20[0-9]{2}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])([Tt ]([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9]([.][0-9]{1,15})?([Zz]|[+-](0[0-9]|1[0-5])(:?[0-5][0-9])?)?)?$'
{%- endmacro %}

{#- A JSON string holding a decimal number (OData's IEEE754Compatible form) that numeric parses. -#}
{% macro _json_number_pattern() -%}
    '^[[:space:]]*[+-]?([0-9]{1,30}([.][0-9]{0,30})?|[.][0-9]{1,30})([eE][+-]?[0-9]{1,3})?[[:space:]]*$'
{%- endmacro %}

{#- A string that matched the timestamp pattern names a day that exists (2000-2099: leap years are those divisible by 4). -#}
{% macro _json_day_exists(text_value) -%}
    substr({{ text_value }}, 6, 5) not in ('02-30', '02-31', '04-31', '06-31', '09-31', '11-31')
    and (substr({{ text_value }}, 6, 5) <> '02-29' or substr({{ text_value }}, 3, 2)::integer % 4 = 0)
{%- endmacro %}

{#- A string that matched the timestamp pattern carries its own offset (else it is read as UTC). -#}
{% macro _json_has_offset(text_value) -%}
    (
        right({{ text_value }}, 1) in ('Z', 'z')
        or strpos(substr({{ text_value }}, 20), '+') > 0
        or strpos(substr({{ text_value }}, 20), '-') > 0
    )
{%- endmacro %}

{#- numeric → double precision without an underflow error (1e-400 is 0). -#}
{% macro _json_numeric_to_double(numeric_value) -%}
    case when abs({{ numeric_value }}) < 1e-300 then 0::double precision else ({{ numeric_value }})::double precision end
{%- endmacro %}

{% macro _json_truncated(text_value, max_length) -%}
    {%- if max_length -%}left({{ text_value }}, {{ max_length }}){%- else -%}{{ text_value }}{%- endif -%}
{%- endmacro %}

{% macro json_text(value, max_length=none) -%}
    case jsonb_typeof({{ value }})
        when 'string' then {{ _json_truncated(value ~ " #>> '{}'", max_length) }}
        when 'number' then {{ value }} #>> '{}'
        when 'boolean' then {{ value }} #>> '{}'
    end
{%- endmacro %}

{% macro json_timestamp(value, from_text=false) -%}
    {%- if from_text -%}
    {%- set text_value = value -%}
    case when {{ text_value }} ~ {{ _json_timestamp_pattern() }} then
    {%- else -%}
    {%- set text_value = "(" ~ value ~ " #>> '{}')" -%}
    case when jsonb_typeof({{ value }}) = 'string' and {{ text_value }} ~ {{ _json_timestamp_pattern() }} then
    {%- endif %}
        case when {{ _json_day_exists(text_value) }} then
            case
                when {{ _json_has_offset(text_value) }} then {{ text_value }}::timestamptz
                else {{ text_value }}::timestamp at time zone 'UTC'
            end
        end
    end
{%- endmacro %}

{% macro json_number(value, minimum=-1e15, maximum=1e15) -%}
    {%- set text_value = "(" ~ value ~ " #>> '{}')" -%}
    case jsonb_typeof({{ value }})
        when 'number' then
            case when ({{ value }})::numeric between {{ minimum }} and {{ maximum }} then
                {{ _json_numeric_to_double("(" ~ value ~ ")::numeric") }}
            end
        when 'string' then
            case when {{ text_value }} ~ {{ _json_number_pattern() }} then
                case when {{ text_value }}::numeric between {{ minimum }} and {{ maximum }} then
                    {{ _json_numeric_to_double(text_value ~ "::numeric") }}
                end
            end
    end
{%- endmacro %}

{% macro json_integer(value, minimum=-2147483648, maximum=2147483647) -%}
    {%- set text_value = "(" ~ value ~ " #>> '{}')" -%}
    case jsonb_typeof({{ value }})
        when 'number' then
            case
                when ({{ value }})::numeric = trunc(({{ value }})::numeric)
                    and ({{ value }})::numeric between {{ minimum }} and {{ maximum }}
                    then ({{ value }})::numeric::integer
            end
        when 'string' then
            case when {{ text_value }} ~ '^[[:space:]]*[+-]?[0-9]{1,18}[[:space:]]*$' then
                case when {{ text_value }}::bigint between {{ minimum }} and {{ maximum }} then {{ text_value }}::integer end
            end
    end
{%- endmacro %}

{% macro json_boolean(value) -%}
    case jsonb_typeof({{ value }})
        when 'boolean' then ({{ value }})::boolean
        when 'string' then
            case lower({{ value }} #>> '{}') when 'true' then true when 'false' then false end
    end
{%- endmacro %}

{% macro json_text_array(value, max_length=none) -%}
    case when jsonb_typeof({{ value }}) = 'array' then
        array(
            select {{ _json_truncated("element #>> '{}'", max_length) }}
            from jsonb_array_elements({{ value }}) as element
            where jsonb_typeof(element) = 'string'
        )
    end
{%- endmacro %}

{% macro json_array(value) -%}
    case when jsonb_typeof({{ value }}) = 'array' then {{ value }} end
{%- endmacro %}

{% macro json_object(value) -%}
    case when jsonb_typeof({{ value }}) = 'object' then {{ value }} end
{%- endmacro %}

{#- Dispatch on the type name a json_field carries. -#}
{% macro json_convert(type, value, options={}) -%}
    {%- if type == 'text' -%}{{ json_text(value, options.get('max_length')) }}
    {%- elif type == 'timestamp' -%}{{ json_timestamp(value, options.get('from_text', false)) }}
    {%- elif type == 'number' -%}{{ json_number(value, options.get('minimum', -1e15), options.get('maximum', 1e15)) }}
    {%- elif type == 'integer' -%}
        {{- json_integer(value, options.get('minimum', -2147483648), options.get('maximum', 2147483647)) -}}
    {%- elif type == 'boolean' -%}{{ json_boolean(value) }}
    {%- elif type == 'text_array' -%}{{ json_text_array(value, options.get('max_length')) }}
    {%- elif type == 'array' -%}{{ json_array(value) }}
    {%- elif type == 'object' -%}{{ json_object(value) }}
    {%- else -%}{{ exceptions.raise_compiler_error("json_convert: unknown type '" ~ type ~ "'") }}
    {%- endif -%}
{%- endmacro %}

{#-
    'field:problem' for one value, or null: `value` is the jsonb, `typed` what json_convert made of it (read
    from a column, so nothing is converted twice). `prefix` is SQL prepended to the label (array positions).
-#}
{% macro json_issue(field, value, type, typed, required=false, prefix=none, options={}) -%}
    {%- set text_value = "(" ~ value ~ " #>> '{}')" -%}
    {%- set label = {} -%}
    {%- for problem in ['missing', 'wrong_type', 'coerced', 'truncated', 'invalid', 'out_of_range', 'assumed_utc',
        'not_finite', 'not_integer', 'invalid_element'] -%}
        {%- do label.update({problem: ((prefix ~ " || ") if prefix else "") ~ "'" ~ field ~ ":" ~ problem ~ "'"}) -%}
    {%- endfor -%}
    case
        when {{ value }} is null then {{ label.missing if required else 'null' }}
    {%- if type == 'text' %}
        when jsonb_typeof({{ value }}) = 'string' then
        {%- if options.get('max_length') %}
            case
                when octet_length({{ text_value }}) > {{ options.max_length }} and length({{ text_value }}) > {{ options.max_length }}
                    then {{ label.truncated }}
            end
        {%- else %} null
        {%- endif %}
        when jsonb_typeof({{ value }}) in ('number', 'boolean') then {{ label.coerced }}
        else {{ label.wrong_type }}
    {%- elif type == 'timestamp' %}
        {%- set text_value = value if options.get('from_text') else text_value %}
        when {{ typed }} is not null then case when not {{ _json_has_offset(text_value) }} then {{ label.assumed_utc }} end
        when {{ text_value }} ~ '^[0-9]{4}-[0-9]{2}-[0-9]{2}' and left({{ text_value }}, 2) <> '20' then {{ label.out_of_range }}
        else {{ label.invalid }}
    {%- elif type in ('number', 'integer') %}
        {%- for sentinel in options.get('null_values', []) %}
        when {{ value }} = '{{ sentinel }}'::jsonb then null
        {%- endfor %}
        when {{ typed }} is not null then case when jsonb_typeof({{ value }}) = 'string' then {{ label.coerced }} end
        {%- if type == 'integer' %}
        when jsonb_typeof({{ value }}) = 'number' and ({{ value }})::numeric <> trunc(({{ value }})::numeric)
            then {{ label.not_integer }}
        {%- endif %}
        when jsonb_typeof({{ value }}) = 'number' then {{ label.out_of_range }}
        when jsonb_typeof({{ value }}) <> 'string' then {{ label.wrong_type }}
        when lower(btrim({{ text_value }})) in ('nan', '+nan', '-nan', 'infinity', '+infinity', '-infinity', 'inf', '+inf', '-inf')
            then {{ label.not_finite }}
        when {{ text_value }} ~ {{ _json_number_pattern() }} then
            {%- if type == 'integer' %}
            case when {{ text_value }}::numeric <> trunc({{ text_value }}::numeric) then {{ label.not_integer }} else {{ label.out_of_range }} end
            {%- else %}
            {{ label.out_of_range }}
            {%- endif %}
        else {{ label.wrong_type }}
    {%- elif type == 'boolean' %}
        when {{ typed }} is not null then
            {%- if options.get('strings_allowed') %} null
            {%- else %} case when jsonb_typeof({{ value }}) = 'string' then {{ label.coerced }} end
            {%- endif %}
        else {{ label.wrong_type }}
    {%- elif type == 'text_array' %}
        when {{ typed }} is null then {{ label.wrong_type }}
        when cardinality({{ typed }}) < jsonb_array_length({{ value }}) then {{ label.invalid_element }}
    {%- elif type in ('array', 'object') %}
        when {{ typed }} is null then {{ label.wrong_type }}
    {%- else %}
        {{ exceptions.raise_compiler_error("json_issue: unknown type '" ~ type ~ "'") }}
    {%- endif %}
    end
{%- endmacro %}

{#- The value behind an issue as text (a string unquoted, anything else as JSON), cut to 200 characters; '' when absent. -#}
{% macro json_observed(value, from_text=false) -%}
    coalesce(left({{ value if from_text else "(" ~ value ~ " #>> '{}')" }}, 200), '')
{%- endmacro %}

{#-
    A staging model's fields, declared once: `json_field('createdDateTime', 'created_at', 'timestamp',
    required=true)`. `value` (SQL over `record`) replaces `record."key"` for a nested value; options:
    max_length (text), minimum and maximum (numbers), strings_allowed (booleans sent as "true"/"false").
-#}
{% macro json_field(key, column, type, value=none, required=false) -%}
    {{ return({'key': key, 'column': column, 'type': type, 'value': value, 'required': required, 'options': kwargs}) }}
{%- endmacro %}

{#- A field's jsonb (or text) value in the record, and the options json_convert and json_issue get. -#}
{% macro _json_field_parts(field) -%}
    {%- set options = {'from_text': field.type == 'timestamp' and not field.value} -%}
    {%- do options.update(field.options) -%}
    {{ return((field.value if field.value else 'record."' ~ field.key ~ '"', options)) }}
{%- endmacro %}

{#-
    (issue code, observed value) of each field: reading json_flatten's converted columns in `relation`, or
    converting again from `record`. `element` (an array element, SQL, with `path`): a non-object is one issue,
    not one per field.
-#}
{% macro _json_field_issues(fields, relation=none, path=none, element=none) -%}
    {%- set prefix = (path ~ " || '.'") if path else none -%}
    {%- set issues = [] -%}
    {%- if element -%}
        {%- do issues.append((
            "case when jsonb_typeof(" ~ element ~ ") <> 'object' then " ~ path ~ " || ':wrong_type' end",
            json_observed(element)
        )) -%}
    {%- endif -%}
    {%- for field in fields -%}
        {%- set value, options = _json_field_parts(field) -%}
        {%- if relation -%}
            {%- set raw = relation ~ '."json.' ~ field.column ~ '"' -%}
            {%- set typed = relation ~ '.' ~ field.column -%}
        {%- else -%}
            {%- set raw = value -%}
            {%- set typed = "(" ~ json_convert(field.type, value, options) ~ ")" -%}
        {%- endif -%}
        {%- set code = json_issue(field.key, raw, field.type, typed, field.required, prefix, options) -%}
        {%- if element -%}
            {%- set code = "case when jsonb_typeof(" ~ element ~ ") = 'object' then " ~ code ~ " end" -%}
        {%- endif -%}
        {%- do issues.append((code, json_observed(raw, from_text=options.from_text))) -%}
    {%- endfor -%}
    {{ return(issues) }}
{%- endmacro %}

{#- The `as record (...)` column list of jsonb_to_record: top-level timestamps as text, everything else as jsonb. -#}
{% macro json_record_columns(fields) -%}
    {%- for field in fields | rejectattr('value') %}
    "{{ field.key }}" {{ 'text' if field.type == 'timestamp' else 'jsonb' }}{{ ',' if not loop.last }}
    {%- endfor %}
{%- endmacro %}

{#-
    A subquery for `cross join lateral (...) as typed`: a landed payload flattened once (jsonb_to_record) into the
    fields' typed columns, plus `data_issues` ('field:problem', text[]) and `data_issue_values` (what was observed,
    same order). Top-level timestamps are read as text (the regular expression runs on text); every other field as
    jsonb, so a wrong JSON type is seen. Each step is a subquery with `offset 0`, which PostgreSQL never merges into
    the next: a value is converted once though its column and its issue both read it. The payload is always an
    object (the loader quarantines anything else); checking would decompress it a second time.
-#}
{% macro json_flatten(object, fields) -%}
    select
        checked.*,
        case
            when checked.data_issues = '{}' then '{}'::text[]
            else {{ json_issue_value_array(_json_field_issues(fields, relation='checked')) }}
        end as data_issue_values
    from (
        select
            converted.*,
            {{ json_issue_array(_json_field_issues(fields, relation='converted')) }} as data_issues
        from (
            select
                {%- for field in fields %}
                {%- set value, options = _json_field_parts(field) %}
                {{ json_convert(field.type, value, options) }} as {{ field.column }},
                {{ value }} as "json.{{ field.column }}"{{ ',' if not loop.last }}
                {%- endfor %}
            from jsonb_to_record({{ object }}) as record ({{ json_record_columns(fields) }})
            offset 0
        ) as converted
        offset 0
    ) as checked
{%- endmacro %}

{#-
    For an array element: `cross join lateral {{ json_element_record('element.value', fields, path) }}` reads it
    as a record (a non-object as '{}') and checks it, and `{{ json_element_columns('element.value', fields,
    path) }}` in the select list gives the typed columns, data_issues and data_issue_values, field names prefixed
    with `path` (SQL text, e.g. 'controlScores[3]'). Function scans only: a subquery per element would get a
    Memoize node, hashing every element for a cache that never hits. The issue codes are computed once, in a
    one-row `unnest` (joined by a unit separator: a text[] cannot be an array element), so the observed values
    are read only for the rare elements with an issue; fields are converted where used (cheap types).
-#}
{% macro json_element_record(element, fields, path) -%}
    jsonb_to_record(case when jsonb_typeof({{ element }}) = 'object' then {{ element }} else '{}'::jsonb end)
        as record ({{ json_record_columns(fields) }})
    cross join lateral unnest(array[
        nullif(array_to_string({{ json_issue_array(_json_field_issues(fields, path=path, element=element)) }}, chr(31)), '')
    ]) as checked (issue_codes)
{%- endmacro %}

{% macro json_element_columns(element, fields, path) -%}
    {%- for field in fields %}
    {%- set value, options = _json_field_parts(field) %}
    {{ json_convert(field.type, value, options) }} as {{ field.column }},
    {%- endfor %}
    coalesce(string_to_array(checked.issue_codes, chr(31)), '{}') as data_issues,
    case
        when checked.issue_codes is null then '{}'::text[]
        else {{ json_issue_value_array(_json_field_issues(fields, path=path, element=element)) }}
    end as data_issue_values
{%- endmacro %}

{#- text[] of the non-null issue codes of (code, observed) pairs, in order. -#}
{% macro json_issue_array(issues) -%}
    array_remove(array[
    {%- for code, _ in issues %}
        {{ code }},
    {%- endfor %}
        null
    ]::text[], null)
{%- endmacro %}

{#- text[] of the observed values of the same pairs: one entry per issue, aligned with json_issue_array. -#}
{% macro json_issue_value_array(issues) -%}
    array_remove(array[
    {%- for code, observed in issues %}
        case when ({{ code }}) is not null then {{ observed }} end,
    {%- endfor %}
        null
    ]::text[], null)
{%- endmacro %}
