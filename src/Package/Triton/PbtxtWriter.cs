using System.Globalization;
using System.Text;

namespace ModelForge.Package.Triton;

/// <summary>
/// Protobuf text format as Triton reads it (<c>TextFormat::ParseFromString</c>): two-space indents, enum values as bare
/// identifiers, repeated scalars as <c>[ a, b ]</c>, repeated messages as <c>[ { … }, { … } ]</c>, "\n" line ends.
/// </summary>
internal sealed class PbtxtWriter
{
    private readonly StringBuilder _text = new();
    private int _depth;

    public PbtxtWriter Comment(string text)
    {
        foreach (var line in text.Split('\n')) Line("# " + line);
        return this;
    }

    public PbtxtWriter String(string field, string value) => Line($"{field}: {Quote(value)}");

    public PbtxtWriter Number(string field, long value) => Line($"{field}: {value.ToString(CultureInfo.InvariantCulture)}");

    public PbtxtWriter Enum(string field, string value) => Line($"{field}: {value}");

    public PbtxtWriter Bool(string field, bool value) => Line($"{field}: {(value ? "true" : "false")}");

    public PbtxtWriter Numbers(string field, IEnumerable<long> values)
    {
        var items = string.Join(", ", values.Select(v => v.ToString(CultureInfo.InvariantCulture)));
        return Line(items.Length == 0 ? $"{field}: [ ]" : $"{field}: [ {items} ]");
    }

    /// <summary>One map entry of a <c>map&lt;string,string&gt;</c> field, on one line.</summary>
    public PbtxtWriter StringMapEntry(string field, string key, string value) => Line($"{field} {{ key: {Quote(key)} value: {Quote(value)} }}");

    /// <summary>One entry of the model-level <c>parameters</c> map (<c>map&lt;string, ModelParameter&gt;</c>), on one line.</summary>
    public PbtxtWriter ModelParameter(string key, string value) => Line($"parameters {{ key: {Quote(key)} value: {{ string_value: {Quote(value)} }} }}");

    public PbtxtWriter Message(string field, Action<PbtxtWriter> body)
    {
        Line(field + " {");
        _depth++;
        body(this);
        _depth--;
        return Line("}");
    }

    /// <summary>A repeated message field in list form; <paramref name="separator"/> is ":" where Triton's docs write one.</summary>
    public PbtxtWriter Messages<T>(string field, IReadOnlyList<T> items, Action<PbtxtWriter, T> body, string separator = "")
    {
        Line($"{field}{separator} [");
        _depth++;
        for (var i = 0; i < items.Count; i++)
        {
            Line("{");
            _depth++;
            body(this, items[i]);
            _depth--;
            Line(i + 1 < items.Count ? "}," : "}");
        }
        _depth--;
        return Line("]");
    }

    public override string ToString() => _text.ToString();

    private PbtxtWriter Line(string line)
    {
        _text.Append(' ', 2 * _depth).Append(line).Append('\n');
        return this;
    }

    /// <summary>A double-quoted string with C escapes; bytes outside printable ASCII as octal escapes of their UTF-8.</summary>
    private static string Quote(string value)
    {
        var quoted = new StringBuilder("\"");
        foreach (var b in Encoding.UTF8.GetBytes(value))
        {
            switch (b)
            {
                case (byte)'"': quoted.Append("\\\""); break;
                case (byte)'\\': quoted.Append("\\\\"); break;
                case (byte)'\n': quoted.Append("\\n"); break;
                case (byte)'\r': quoted.Append("\\r"); break;
                case (byte)'\t': quoted.Append("\\t"); break;
                case < 0x20 or >= 0x7f: quoted.Append('\\').Append(System.Convert.ToString(b, 8).PadLeft(3, '0')); break;
                default: quoted.Append((char)b); break;
            }
        }
        return quoted.Append('"').ToString();
    }
}
