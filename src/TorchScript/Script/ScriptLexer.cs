using System.Globalization;
using System.Numerics;
using System.Text;
using ModelForge.Core.Diagnostics;

namespace ModelForge.TorchScript.Script;

internal enum TokenKind { Name, Int, Float, String, Op, Newline, Indent, Dedent, EndOfFile }

/// <summary>
/// One token. <see cref="Start"/> and <see cref="End"/> are char indexes into the source (End exclusive);
/// <see cref="Value"/> holds a literal's value (<c>long</c>, <c>double</c>, <c>string</c>, or <see cref="ScriptLexer.MinLongMagnitude"/>).
/// </summary>
internal readonly record struct Token(TokenKind Kind, string Text, object? Value, int Start, int End, int Line, int Column);

/// <summary>
/// Splits a serialized TorchScript source file into tokens, Python style: INDENT/DEDENT from leading spaces,
/// NEWLINE only at the end of logical lines (not inside brackets, not after a backslash), comments and blank lines dropped.
/// </summary>
internal sealed class ScriptLexer
{
    /// <summary>The literal 9223372036854775808, which only fits after a unary minus (<c>-9223372036854775808</c>).</summary>
    internal static readonly object MinLongMagnitude = (ulong)long.MaxValue + 1;

    private static readonly string[] Operators =
    [
        "**=", "//=", ">>=", "<<=", "...",
        "->", "**", "//", ">>", "<<", "<=", ">=", "==", "!=", "+=", "-=", "*=", "/=", "%=", "@=", "&=", "|=", "^=",
        "+", "-", "*", "/", "%", "@", "&", "|", "^", "~", "<", ">", "(", ")", "[", "]", "{", "}", ",", ":", ".", ";", "=",
    ];

    private readonly string _src;
    private readonly string _path;
    private readonly List<Token> _tokens = [];
    private readonly Stack<int> _indents = new([0]);
    private readonly Stack<Token> _brackets = new();
    private int _pos;
    private int _line = 1;
    private int _lineStart;

    private ScriptLexer(string source, string path)
    {
        _src = source;
        _path = path;
    }

    public static List<Token> Tokenize(string source, string path)
    {
        var lexer = new ScriptLexer(source, path);
        lexer.Run();
        return lexer._tokens;
    }

    private void Run()
    {
        if (_src.Length > 0 && _src[0] == '\uFEFF') _pos = _lineStart = 1;
        var atLineStart = true;
        while (true)
        {
            if (atLineStart && _brackets.Count == 0)
            {
                if (!ReadIndentation()) break;
                atLineStart = false;
            }
            if (_pos >= _src.Length) break;
            var c = _src[_pos];
            switch (c)
            {
                case ' ' or '\t' or '\f':
                    _pos++;
                    continue;
                case '#':
                    SkipComment();
                    continue;
                case '\r' or '\n':
                {
                    var start = _pos;
                    var column = start - _lineStart + 1;
                    var line = _line;
                    ConsumeLineBreak();
                    if (_brackets.Count == 0)
                    {
                        _tokens.Add(new Token(TokenKind.Newline, "", null, start, start, line, column));
                        atLineStart = true;
                    }
                    continue;
                }
                case '\\':
                    if (_pos + 1 < _src.Length && _src[_pos + 1] is '\r' or '\n')
                    {
                        _pos++;
                        ConsumeLineBreak();
                        continue;
                    }
                    throw Error(_pos, "unexpected character '\\'");
            }

            if (char.IsAsciiDigit(c) || (c == '.' && _pos + 1 < _src.Length && char.IsAsciiDigit(_src[_pos + 1])))
                LexNumber();
            else if (IsIdentifierStart(c))
                LexNameOrString();
            else if (c is '"' or '\'')
                LexString(_pos, raw: false);
            else
                LexOperator();
        }

        if (_brackets.Count > 0)
        {
            var open = _brackets.Peek();
            throw Error(open.Start, $"'{open.Text}' was never closed", open.Line, open.Column);
        }
        var endColumn = _pos - _lineStart + 1;
        if (_tokens.Count > 0 && _tokens[^1].Kind is not (TokenKind.Newline or TokenKind.Dedent))
            _tokens.Add(new Token(TokenKind.Newline, "", null, _pos, _pos, _line, endColumn));
        while (_indents.Count > 1)
        {
            _indents.Pop();
            _tokens.Add(new Token(TokenKind.Dedent, "", null, _pos, _pos, _line, endColumn));
        }
        _tokens.Add(new Token(TokenKind.EndOfFile, "", null, _pos, _pos, _line, endColumn));
    }

    /// <summary>Measures the indentation of the next non-blank line and emits INDENT/DEDENT; false at end of file.</summary>
    private bool ReadIndentation()
    {
        while (true)
        {
            var width = 0;
            var p = _pos;
            while (p < _src.Length && _src[p] is ' ' or '\t' or '\f')
            {
                width = _src[p] switch { ' ' => width + 1, '\t' => (width / 8 + 1) * 8, _ => 0 };
                p++;
            }
            _pos = p;
            if (p >= _src.Length) return false;
            if (_src[p] == '#')
            {
                SkipComment();
                if (_pos >= _src.Length) return false;
                ConsumeLineBreak();
                continue;
            }
            if (_src[p] is '\r' or '\n')
            {
                ConsumeLineBreak();
                continue;
            }

            var column = p - _lineStart + 1;
            if (width > _indents.Peek())
            {
                _indents.Push(width);
                _tokens.Add(new Token(TokenKind.Indent, "", null, p, p, _line, column));
            }
            else
            {
                while (width < _indents.Peek())
                {
                    _indents.Pop();
                    _tokens.Add(new Token(TokenKind.Dedent, "", null, p, p, _line, column));
                }
                if (width != _indents.Peek())
                    throw Error(p, "unindent does not match any outer indentation level");
            }
            return true;
        }
    }

    private void SkipComment()
    {
        while (_pos < _src.Length && _src[_pos] is not ('\r' or '\n')) _pos++;
    }

    private void ConsumeLineBreak()
    {
        if (_src[_pos] == '\r' && _pos + 1 < _src.Length && _src[_pos + 1] == '\n') _pos++;
        _pos++;
        _line++;
        _lineStart = _pos;
    }

    private static bool IsIdentifierStart(char c) => c == '_' || char.IsAsciiLetter(c) || (c > 0x7F && char.IsLetter(c));
    private static bool IsIdentifierPart(char c) => IsIdentifierStart(c) || char.IsAsciiDigit(c) || (c > 0x7F && char.IsDigit(c));

    private void LexNameOrString()
    {
        var start = _pos;
        while (_pos < _src.Length && IsIdentifierPart(_src[_pos])) _pos++;
        var text = _src[start.._pos];
        if (_pos < _src.Length && _src[_pos] is '"' or '\'' && text.Length <= 2)
        {
            var prefix = text.ToLowerInvariant();
            if (prefix is "r" or "u" or "b" or "rb" or "br")
            {
                LexString(start, raw: prefix.Contains('r'));
                return;
            }
            if (prefix.Contains('f'))
                throw Error(start, "f-strings are not supported in TorchScript source");
        }
        Add(TokenKind.Name, start, null);
    }

    private void LexString(int start, bool raw)
    {
        var quote = _src[_pos];
        var triple = _pos + 2 < _src.Length && _src[_pos + 1] == quote && _src[_pos + 2] == quote;
        _pos += triple ? 3 : 1;
        var startLine = _line;
        var startColumn = start - _lineStart + 1;
        var value = new StringBuilder();
        while (true)
        {
            if (_pos >= _src.Length)
                throw Error(start, "unterminated string literal", startLine, startColumn);
            var c = _src[_pos];
            if (c == quote && (!triple || (_pos + 2 < _src.Length && _src[_pos + 1] == quote && _src[_pos + 2] == quote)))
            {
                _pos += triple ? 3 : 1;
                break;
            }
            if (c is '\r' or '\n')
            {
                if (!triple) throw Error(start, "unterminated string literal", startLine, startColumn);
                value.Append(c == '\r' && _pos + 1 < _src.Length && _src[_pos + 1] == '\n' ? "\r\n" : c.ToString());
                ConsumeLineBreak();
                continue;
            }
            if (c != '\\')
            {
                value.Append(c);
                _pos++;
                continue;
            }
            // A backslash.
            if (_pos + 1 >= _src.Length)
                throw Error(start, "unterminated string literal", startLine, startColumn);
            var e = _src[_pos + 1];
            if (raw)
            {
                // Raw strings keep the backslash; it still stops the next char from ending the string.
                value.Append('\\');
                _pos++;
                if (e is '\r' or '\n') { value.Append(e); ConsumeLineBreak(); }
                else { value.Append(e); _pos++; }
                continue;
            }
            _pos += 2;
            switch (e)
            {
                case '\n': _line++; _lineStart = _pos; break;
                case '\r':
                    if (_pos < _src.Length && _src[_pos] == '\n') _pos++;
                    _line++;
                    _lineStart = _pos;
                    break;
                case '\\': value.Append('\\'); break;
                case '\'': value.Append('\''); break;
                case '"': value.Append('"'); break;
                case 'a': value.Append('\a'); break;
                case 'b': value.Append('\b'); break;
                case 'f': value.Append('\f'); break;
                case 'n': value.Append('\n'); break;
                case 'r': value.Append('\r'); break;
                case 't': value.Append('\t'); break;
                case 'v': value.Append('\v'); break;
                case 'x': value.Append(ReadHexEscape(2)); break;
                case 'u': value.Append(ReadHexEscape(4)); break;
                case 'U': value.Append(ReadHexEscape(8)); break;
                case >= '0' and <= '7':
                {
                    var code = e - '0';
                    for (var k = 0; k < 2 && _pos < _src.Length && _src[_pos] is >= '0' and <= '7'; k++, _pos++)
                        code = code * 8 + (_src[_pos] - '0');
                    value.Append((char)code);
                    break;
                }
                default:
                    // Python keeps unknown escapes verbatim.
                    value.Append('\\').Append(e);
                    break;
            }
        }
        _tokens.Add(new Token(TokenKind.String, _src[start.._pos], value.ToString(), start, _pos, startLine, startColumn));
    }

    private string ReadHexEscape(int digits)
    {
        if (_pos + digits > _src.Length ||
            !int.TryParse(_src.AsSpan(_pos, digits), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out var code) ||
            code is < 0 or > 0x10FFFF)
            throw Error(_pos - 2, "invalid escape sequence in string literal");
        _pos += digits;
        return char.ConvertFromUtf32(code);
    }

    private void LexNumber()
    {
        var start = _pos;
        var c = _src[_pos];
        if (c == '0' && _pos + 1 < _src.Length && _src[_pos + 1] is 'x' or 'X' or 'o' or 'O' or 'b' or 'B')
        {
            var radix = char.ToLowerInvariant(_src[_pos + 1]) switch { 'x' => 16, 'o' => 8, _ => 2 };
            _pos += 2;
            BigInteger value = 0;
            var any = false;
            while (_pos < _src.Length)
            {
                var d = _src[_pos];
                if (d == '_') { _pos++; continue; }
                var digit = d is >= '0' and <= '9' ? d - '0' : char.IsAsciiHexDigit(d) ? char.ToLowerInvariant(d) - 'a' + 10 : -1;
                if (digit < 0 || digit >= radix) break;
                value = value * radix + digit;
                any = true;
                _pos++;
            }
            if (!any) throw Error(start, $"invalid number literal '{_src[start.._pos]}'");
            FinishInteger(start, value);
            return;
        }

        var isFloat = false;
        SkipDigits();
        if (_pos < _src.Length && _src[_pos] == '.')
        {
            isFloat = true;
            _pos++;
            SkipDigits();
        }
        if (_pos < _src.Length && _src[_pos] is 'e' or 'E')
        {
            var save = _pos;
            _pos++;
            if (_pos < _src.Length && _src[_pos] is '+' or '-') _pos++;
            if (_pos < _src.Length && char.IsAsciiDigit(_src[_pos]))
            {
                isFloat = true;
                SkipDigits();
            }
            else
            {
                _pos = save;
            }
        }
        var text = _src[start.._pos].Replace("_", "");
        if (isFloat)
        {
            CheckNumberEnd(start);
            Add(TokenKind.Float, start, double.Parse(text, NumberStyles.Float, CultureInfo.InvariantCulture));
        }
        else
        {
            FinishInteger(start, BigInteger.Parse(text, CultureInfo.InvariantCulture));
        }
    }

    private void SkipDigits()
    {
        while (_pos < _src.Length && (char.IsAsciiDigit(_src[_pos]) || _src[_pos] == '_')) _pos++;
    }

    private void FinishInteger(int start, BigInteger value)
    {
        CheckNumberEnd(start);
        object boxed;
        if (value <= long.MaxValue) boxed = (long)value;
        else if (value == (ulong)long.MaxValue + 1) boxed = MinLongMagnitude;
        else throw Error(start, $"integer literal '{_src[start.._pos]}' does not fit in 64 bits");
        Add(TokenKind.Int, start, boxed);
    }

    private void CheckNumberEnd(int start)
    {
        if (_pos < _src.Length && IsIdentifierPart(_src[_pos]))
            throw Error(start, $"invalid number literal '{_src[start..(_pos + 1)]}'");
    }

    private void LexOperator()
    {
        var start = _pos;
        foreach (var op in Operators)
        {
            if (string.CompareOrdinal(_src, _pos, op, 0, op.Length) != 0) continue;
            _pos += op.Length;
            var token = new Token(TokenKind.Op, op, null, start, _pos, _line, start - _lineStart + 1);
            _tokens.Add(token);
            switch (op)
            {
                case "(" or "[" or "{":
                    _brackets.Push(token);
                    break;
                case ")" or "]" or "}":
                    if (_brackets.Count == 0)
                        throw Error(start, $"unmatched '{op}'");
                    var open = _brackets.Pop();
                    var expected = open.Text switch { "(" => ")", "[" => "]", _ => "}" };
                    if (op != expected)
                        throw Error(start, $"closing '{op}' does not match '{open.Text}' opened at line {open.Line}, column {open.Column}");
                    break;
            }
            return;
        }
        throw Error(start, $"unexpected character '{_src[start]}'");
    }

    private void Add(TokenKind kind, int start, object? value) =>
        _tokens.Add(new Token(kind, _src[start.._pos], value, start, _pos, _line, start - _lineStart + 1));

    private ModelForgeException Error(int position, string message, int? line = null, int? column = null) =>
        ScriptParser.SyntaxError(_path, _src, line ?? _line, column ?? position - _lineStart + 1, message);
}
