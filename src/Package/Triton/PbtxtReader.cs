using System.Globalization;

namespace ModelForge.Package.Triton;

/// <summary>
/// One message of protobuf text format, as <see cref="PbtxtReader"/> reads it: its fields in order, each value a
/// scalar (the token's text, strings unquoted) or a nested message; a list <c>[ a, b ]</c> is the field repeated.
/// </summary>
internal sealed class PbtxtMessage
{
    public List<(string Field, object Value)> Fields { get; } = [];

    public IEnumerable<object> All(string field) => Fields.Where(f => f.Field == field).Select(f => f.Value);

    public IEnumerable<PbtxtMessage> Messages(string field) => All(field).OfType<PbtxtMessage>();

    public PbtxtMessage? Message(string field) => Messages(field).FirstOrDefault();

    /// <summary>The one scalar value of <paramref name="field"/>; null when absent.</summary>
    public string? Scalar(string field) => All(field).OfType<string>().LastOrDefault();

    public List<long> Numbers(string field) => All(field).OfType<string>().Select(v => long.Parse(v, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture)).ToList();
}

/// <summary>
/// Reads the protobuf text format of a Triton <c>config.pbtxt</c> far enough to compare a model's interface: fields,
/// nested messages, lists, quoted strings with C escapes, <c>#</c> comments. No schema: a field is a name. Text it
/// cannot read is a <see cref="FormatException"/> naming the line, for the caller to refuse rather than guess.
/// </summary>
internal static class PbtxtReader
{
    public static PbtxtMessage Read(string text)
    {
        var tokens = Tokenize(text);
        var position = 0;
        return ReadMessage(tokens, ref position, closing: null);
    }

    private sealed record Token(string Text, bool Quoted, int Line);

    private static PbtxtMessage ReadMessage(List<Token> tokens, ref int position, string? closing)
    {
        var message = new PbtxtMessage();
        while (true)
        {
            if (position == tokens.Count)
            {
                if (closing is null) return message;
                throw new FormatException($"line {tokens[^1].Line}: the text ends inside a message (a '{closing}' is missing)");
            }
            var token = tokens[position++];
            if (!token.Quoted && token.Text == closing) return message;
            if (token.Quoted || !IsIdentifier(token.Text))
                throw new FormatException($"line {token.Line}: expected a field name, found '{token.Text}'");
            var colon = Peek(tokens, position) is { Quoted: false, Text: ":" };
            if (colon) position++;
            foreach (var value in ReadValue(tokens, ref position, colon, token.Line))
                message.Fields.Add((token.Text, value));
            // Text format lets a ',' (or ';', dropped by the tokenizer) end a field.
            if (Peek(tokens, position) is { Quoted: false, Text: "," }) position++;
        }
    }

    private static IEnumerable<object> ReadValue(List<Token> tokens, ref int position, bool colon, int line)
    {
        var token = Peek(tokens, position) ?? throw new FormatException($"line {line}: a field without a value at the end of the text");
        position++;
        if (!token.Quoted && token.Text is "{" or "<") return [ReadMessage(tokens, ref position, token.Text == "{" ? "}" : ">")];
        if (!token.Quoted && token.Text == "[")
        {
            var values = new List<object>();
            if (Peek(tokens, position) is { Quoted: false, Text: "]" }) { position++; return values; }
            while (true)
            {
                values.AddRange(ReadValue(tokens, ref position, colon: true, token.Line));
                var separator = Peek(tokens, position) ?? throw new FormatException($"line {token.Line}: a list without its ']'");
                position++;
                if (separator is { Quoted: false, Text: "]" }) return values;
                if (separator is not { Quoted: false, Text: "," })
                    throw new FormatException($"line {separator.Line}: expected ',' or ']' in a list, found '{separator.Text}'");
            }
        }
        if (!colon) throw new FormatException($"line {token.Line}: the scalar '{token.Text}' needs a ':' before it");
        if (!token.Quoted && token.Text.Length == 1 && "{}[]<>:,".Contains(token.Text[0]))
            throw new FormatException($"line {token.Line}: expected a value, found '{token.Text}'");
        return [token.Text];
    }

    private static Token? Peek(List<Token> tokens, int position) => position < tokens.Count ? tokens[position] : null;

    private static bool IsIdentifier(string text) =>
        text.Length > 0 && (char.IsAsciiLetter(text[0]) || text[0] == '_') && text.All(c => char.IsAsciiLetterOrDigit(c) || c == '_');

    private static List<Token> Tokenize(string text)
    {
        var tokens = new List<Token>();
        var line = 1;
        for (var i = 0; i < text.Length;)
        {
            var c = text[i];
            if (c == '\n') line++;
            if (char.IsWhiteSpace(c)) { i++; continue; }
            if (c == '#') { while (i < text.Length && text[i] != '\n') i++; continue; }
            if ("{}[]<>:,;".Contains(c))
            {
                // A ';' may end a field in text format and means nothing else: dropped here.
                if (c != ';') tokens.Add(new Token(c.ToString(), false, line));
                i++;
                continue;
            }
            if (c is '"' or '\'')
            {
                var (value, end) = Unquote(text, i, line);
                tokens.Add(new Token(value, true, line));
                i = end;
                continue;
            }
            var start = i;
            while (i < text.Length && !char.IsWhiteSpace(text[i]) && !"{}[]<>:,;#\"'".Contains(text[i])) i++;
            tokens.Add(new Token(text[start..i], false, line));
        }
        return tokens;
    }

    /// <summary>A quoted string from <paramref name="start"/>: its value (C escapes, octal bytes as UTF-8) and the index after it.</summary>
    private static (string Value, int End) Unquote(string text, int start, int line)
    {
        var quote = text[start];
        var bytes = new List<byte>();
        for (var i = start + 1; i < text.Length; i++)
        {
            var c = text[i];
            if (c == quote) return (System.Text.Encoding.UTF8.GetString(bytes.ToArray()), i + 1);
            if (c == '\n') break;
            if (c != '\\') { bytes.AddRange(System.Text.Encoding.UTF8.GetBytes(c.ToString())); continue; }
            if (++i == text.Length) break;
            var escaped = text[i];
            if (escaped is >= '0' and <= '7')
            {
                var digits = 0;
                var value = 0;
                while (digits < 3 && i < text.Length && text[i] is >= '0' and <= '7') { value = value * 8 + (text[i] - '0'); i++; digits++; }
                i--;
                bytes.Add((byte)value);
                continue;
            }
            bytes.AddRange(System.Text.Encoding.UTF8.GetBytes(escaped switch { 'n' => "\n", 'r' => "\r", 't' => "\t", _ => escaped.ToString() }));
        }
        throw new FormatException($"line {line}: a string without its closing quote");
    }
}
