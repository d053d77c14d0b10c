using System.Text;
using System.Text.Json;

namespace ModelForge.Pipeline.Spec;

/// <summary>
/// Line and column of every value in a JSON document, by JSON pointer (<c>/inputs/0/dtype</c>), so that spec errors
/// point at the place in the file (<c>model.modelforge.json(12,16)</c>). System.Text.Json's DOM keeps no positions,
/// so one extra pass with <see cref="Utf8JsonReader"/> records them.
/// </summary>
internal sealed class JsonPositions
{
    private readonly Dictionary<string, (int Line, int Column)> _byPointer = new(StringComparer.Ordinal);

    public JsonPositions(ReadOnlySpan<byte> json, JsonReaderOptions options)
    {
        var lineStarts = new List<int> { 0 };
        for (var i = 0; i < json.Length; i++)
            if (json[i] == (byte)'\n') lineStarts.Add(i + 1);

        // One frame per open container: its pointer, and for arrays the index of the next item.
        var path = new Stack<(string Pointer, int NextIndex, bool IsArray)>();
        string? pendingProperty = null;
        var reader = new Utf8JsonReader(json, options);
        while (reader.Read())
        {
            if (reader.TokenType == JsonTokenType.PropertyName)
            {
                pendingProperty = reader.GetString();
                continue;
            }
            if (reader.TokenType is JsonTokenType.EndObject or JsonTokenType.EndArray)
            {
                path.Pop();
                continue;
            }
            var pointer = PointerOfNextValue(path, pendingProperty);
            pendingProperty = null;
            _byPointer[pointer] = Locate(lineStarts, json, (int)reader.TokenStartIndex);
            if (reader.TokenType is JsonTokenType.StartObject or JsonTokenType.StartArray)
                path.Push((pointer, 0, reader.TokenType == JsonTokenType.StartArray));
        }
    }

    /// <summary>The position of the value at <paramref name="pointer"/>, or of its nearest enclosing value.</summary>
    public (int Line, int Column) Of(string pointer)
    {
        while (true)
        {
            if (_byPointer.TryGetValue(pointer, out var position)) return position;
            if (pointer.Length == 0) return (1, 1);
            pointer = pointer[..pointer.LastIndexOf('/')];
        }
    }

    private static string PointerOfNextValue(Stack<(string Pointer, int NextIndex, bool IsArray)> path, string? property)
    {
        if (path.Count == 0) return "";
        var parent = path.Pop();
        string segment;
        if (parent.IsArray)
        {
            segment = parent.NextIndex.ToString(System.Globalization.CultureInfo.InvariantCulture);
            parent.NextIndex++;
        }
        else segment = Escape(property ?? "");
        path.Push(parent);
        return parent.Pointer + "/" + segment;
    }

    /// <summary>RFC 6901 escaping of one pointer segment.</summary>
    public static string Escape(string segment) => segment.Replace("~", "~0", StringComparison.Ordinal).Replace("/", "~1", StringComparison.Ordinal);

    private static (int Line, int Column) Locate(List<int> lineStarts, ReadOnlySpan<byte> json, int offset)
    {
        var line = lineStarts.BinarySearch(offset);
        if (line < 0) line = ~line - 1;
        // Columns count characters, not UTF-8 bytes, as editors do.
        var column = Encoding.UTF8.GetCharCount(json[lineStarts[line]..offset]) + 1;
        return (line + 1, column);
    }
}
