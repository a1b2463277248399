/* SPDX-License-Identifier: BSD-3-Clause
 *
 * jansson reports the line of a syntax error but keeps no positions for
 * values, and policy errors must name the line of the offending value. This
 * module re-reads the raw JSON text and finds where a JSON path such as
 * "$.rules[2].methods[1]" starts. Control path only.
 */
#ifndef PC_JSON_LOCATE_H
#define PC_JSON_LOCATE_H

#include <stddef.h>

/* The 1-based line at which the value at path starts in text[0..len), or 0
 * when the path is not found or the text is not valid JSON. Path syntax:
 * "$", then ".key" or "[index]" steps; keys are matched after JSON string
 * unescaping. Any thread. */
unsigned pc_json_locate_line(const char *text, size_t len, const char *path);

#endif
