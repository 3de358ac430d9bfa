# cython: language_level=3, boundscheck=False, wraparound=False, initializedcheck=False, cdivision=True
"""The compiled loop of `scoring.plain_csv` (see there for what it reads and why).

One pass over the bytes of whole CSV lines: each field found (quotes only around a whole field, no
line break inside them), then read by its role. The first row that is not plain stops the pass."""

from libc.stdint cimport int8_t, int16_t, int64_t
from libc.string cimport memcmp

cdef enum:
    QUOTE = 34
    COMMA = 44
    NEWLINE = 10
    RETURN = 13
    DOT = 46
    ZERO = 48

# Roles of a file's fields (a score line's number is added to SCORE) and answers of `parse`, defined
# here once and read by `plain_csv` as module constants.
cpdef enum:
    SKIP = -1
    CODE = 0
    KIND = 1
    REVIEWER = 2
    SCORE = 3

cpdef enum:
    PLAIN = 0
    NOT_PLAIN = 1
    FULL = 2


cdef inline bint _utf8(const unsigned char* data, Py_ssize_t at, Py_ssize_t end) noexcept nogil:
    """Whether data[at:end] is well-formed UTF-8 (Unicode's Table 3-7: no overlong forms, no
    surrogates, nothing above U+10FFFF), as Arrow checks a text column."""
    cdef unsigned char lead, low, high
    cdef Py_ssize_t more, k
    while at < end:
        lead = data[at]
        if lead < 0x80:
            at += 1
            continue
        if 0xC2 <= lead <= 0xDF:
            more, low, high = 1, 0x80, 0xBF
        elif 0xE0 <= lead <= 0xEF:
            more = 2
            low = 0xA0 if lead == 0xE0 else 0x80
            high = 0x9F if lead == 0xED else 0xBF
        elif 0xF0 <= lead <= 0xF4:
            more = 3
            low = 0x90 if lead == 0xF0 else 0x80
            high = 0x8F if lead == 0xF4 else 0xBF
        else:
            return False
        if at + more >= end or not low <= data[at + 1] <= high:
            return False
        for k in range(2, more + 1):
            if not 0x80 <= data[at + k] <= 0xBF:
                return False
        at += more + 1
    return True


def parse(
    const unsigned char[::1] buffer,
    const int8_t[::1] roles,
    const int16_t[::1] max_tenths,
    Py_ssize_t width,
    const unsigned char[::1] spellings,
    const int64_t[::1] spelling_ends,
    const int8_t[::1] spelling_kinds,
    int64_t[::1] codes,
    int8_t[::1] kinds,
    int64_t[::1] reviewers,
    int16_t[:, ::1] scores,
):
    """Read every row into the output arrays: (PLAIN, rows), (NOT_PLAIN, row) at the first row that
    is not plain, or (FULL, rows) when the arrays are full."""
    cdef Py_ssize_t size = buffer.shape[0]
    cdef Py_ssize_t fields = roles.shape[0]
    cdef Py_ssize_t capacity = codes.shape[0]
    cdef Py_ssize_t spelling_count = spelling_kinds.shape[0]
    cdef const unsigned char* data = &buffer[0] if size else NULL
    cdef Py_ssize_t at = 0, row = 0, field, start, end, k, first, length, dot, digits
    cdef int answer = PLAIN
    cdef int role, found
    cdef unsigned char byte, separator
    cdef unsigned int bad
    cdef unsigned int digit
    cdef int64_t key, value
    cdef bint plain, quoted
    with nogil:
        while at < size:
            if row >= capacity:
                answer = FULL
                break
            for field in range(fields):
                role = roles[field]
                # Fast paths for the usual spellings (9, 9.5, "01000000001", "peer"), quoted or
                # not, checked in place; anything else takes the general path below.
                separator = COMMA if field < fields - 1 else NEWLINE
                if role >= SCORE and at + 4 <= size and <unsigned int>data[at] - ZERO <= 9:
                    if data[at + 1] == separator:
                        scores[role - SCORE, row] = (data[at] - ZERO) * 10
                        at += 2
                        continue
                    if data[at + 1] == DOT and <unsigned int>data[at + 2] - ZERO <= 9 and data[at + 3] == separator:
                        value = (data[at] - ZERO) * 10 + (data[at + 2] - ZERO)
                        if value <= max_tenths[role - SCORE]:
                            scores[role - SCORE, row] = <int16_t>value
                            at += 4
                            continue
                quoted = at < size and data[at] == QUOTE
                if (
                    (role == CODE or role == REVIEWER)
                    and at + width + 2 * quoted < size
                    and (not quoted or data[at + width + 1] == QUOTE)
                    and data[at + width + 2 * quoted] == separator
                ):
                    key = 0
                    bad = 0
                    for k in range(at + quoted, at + quoted + width):
                        digit = <unsigned int>data[k] - ZERO
                        bad |= digit > 9
                        key = key * 10 + digit
                    if not bad:
                        if role == CODE:
                            codes[row] = key
                        else:
                            reviewers[row] = key
                        at += width + 2 * quoted + 1
                        continue
                if role == KIND:
                    found = -1
                    for k in range(spelling_count):
                        first = spelling_ends[k]
                        length = spelling_ends[k + 1] - first
                        if (
                            at + length + 2 * quoted < size
                            and (not quoted or data[at + length + 1] == QUOTE)
                            and data[at + length + 2 * quoted] == separator
                            and memcmp(data + at + quoted, &spellings[first], length) == 0
                        ):
                            found = spelling_kinds[k]
                            break
                    if found >= 0:
                        kinds[row] = <int8_t>found
                        at += length + 2 * quoted + 1
                        continue
                if at < size and data[at] == QUOTE:
                    start = at + 1
                    end = start
                    while end < size and data[end] != QUOTE:
                        if data[end] == NEWLINE or data[end] == RETURN:
                            answer = NOT_PLAIN
                            break
                        end += 1
                    if answer != PLAIN or end >= size:
                        answer = NOT_PLAIN
                        break
                    at = end + 1
                else:
                    start = at
                    end = at
                    while end < size:
                        byte = data[end]
                        if byte <= COMMA:  # the bytes that end or spoil a field are all at or below ','
                            if byte == COMMA or byte == NEWLINE or byte == RETURN:
                                break
                            if byte == QUOTE:
                                answer = NOT_PLAIN
                                break
                        end += 1
                    if answer != PLAIN:
                        break
                    at = end
                # Its separator: a comma, or the line's end after the last field ("\n" or "\r\n").
                if field < fields - 1:
                    if at >= size or data[at] != COMMA:
                        answer = NOT_PLAIN
                        break
                    at += 1
                elif at < size:
                    if data[at] == RETURN:
                        at += 1
                    if at >= size or data[at] != NEWLINE:
                        answer = NOT_PLAIN
                        break
                    at += 1
                if role >= SCORE:
                    # `arith.plain_tenths`: one to three digits, perhaps a dot and one digit.
                    length = end - start
                    if length == 1 and <unsigned int>data[start] - ZERO <= 9:
                        value = (data[start] - ZERO) * 10
                    elif (
                        length == 3
                        and data[start + 1] == DOT
                        and <unsigned int>data[start] - ZERO <= 9
                        and <unsigned int>data[start + 2] - ZERO <= 9
                    ):
                        value = (data[start] - ZERO) * 10 + (data[start + 2] - ZERO)
                    else:
                        if length < 1 or length > 5:
                            answer = NOT_PLAIN
                            break
                        value = 0
                        digits = 0
                        dot = -1
                        for k in range(start, end):
                            byte = data[k]
                            digit = <unsigned int>byte - ZERO
                            if byte == DOT and dot < 0:
                                dot = k
                            elif digit <= 9:
                                value = value * 10 + digit
                                digits += 1
                            else:
                                answer = NOT_PLAIN
                                break
                        if answer != PLAIN:
                            break
                        if dot >= 0:
                            if end - dot != 2 or not 1 <= dot - start <= 3:
                                answer = NOT_PLAIN
                                break
                        elif digits > 3:
                            answer = NOT_PLAIN
                            break
                        else:
                            value *= 10
                    if value > max_tenths[role - SCORE]:
                        answer = NOT_PLAIN
                        break
                    scores[role - SCORE, row] = <int16_t>value
                elif role == CODE or role == REVIEWER:
                    key = 0
                    plain = end - start == width
                    for k in range(start, end):
                        byte = data[k]
                        digit = <unsigned int>byte - ZERO
                        if digit <= 9:
                            key = key * 10 + digit
                        elif byte < 0x80:
                            plain = False
                        elif role == CODE or not _utf8(data, k, end):
                            answer = NOT_PLAIN  # a code of other text: the Arrow path reads it
                            break
                        else:
                            plain = False
                            break
                    if answer != PLAIN:
                        break
                    if not plain:
                        key = -1
                    if role == CODE:
                        codes[row] = key
                    else:
                        reviewers[row] = key
                elif role == KIND:
                    found = -1
                    length = end - start
                    for k in range(spelling_count):
                        first = spelling_ends[k]
                        if spelling_ends[k + 1] - first != length:
                            continue
                        if memcmp(data + start, &spellings[first], length) == 0:
                            found = spelling_kinds[k]
                            break
                    if found < 0:
                        answer = NOT_PLAIN
                        break
                    kinds[row] = <int8_t>found
            if answer != PLAIN:
                break
            row += 1
    return answer, row
