using ModelForge.TorchScript.Pickle;

namespace ModelForge.TorchScript.Module;

/// <summary>
/// A <c>code/…py.debug_pkl</c> table: for byte ranges of the serialized code, the original source range.
/// PyTorch ≥ 1.10 writes <c>('FORMAT_WITH_STRING_TABLE', strings, entries)</c> with entries
/// <c>(offset, ((text_indices, filename_index, first_line), start, end), handle)</c>; the text is the
/// concatenation of the indexed strings. Traced models record the Python call stack as that text
/// ("file.py(12): forward" lines); scripted models record the real source.
/// </summary>
public sealed class DebugTable
{
    private readonly List<(long Offset, string Text, long Start, long End, string FileName, long FirstLine)> _entries;

    private DebugTable(List<(long, string, long, long, string, long)> entries) => _entries = entries;

    public static DebugTable? Parse(object? pickle)
    {
        if (pickle is not PickleTuple { Items: ["FORMAT_WITH_STRING_TABLE", PickleTuple strings, PickleTuple entries] })
            return null;
        string Str(object? index) => index is long i && i >= 0 && i < strings.Items.Count ? strings.Items[(int)i] as string ?? "" : "";
        var parsed = new List<(long, string, long, long, string, long)>();
        foreach (var item in entries.Items)
        {
            if (item is not PickleTuple { Items: [long offset, PickleTuple range, ..] }) continue;
            if (range.Items is not [PickleTuple source, long start, long end]) continue;
            if (source.Items is not [List<object?> textIndices, var fileIndex, long firstLine]) continue;
            var text = string.Concat(textIndices.Select(Str));
            parsed.Add((offset, text, start, end, Str(fileIndex), firstLine));
        }
        parsed.Sort((a, b) => a.Item1.CompareTo(b.Item1));
        return new DebugTable(parsed);
    }

    /// <summary>
    /// The Python source line behind the code at <paramref name="offset"/>: for traced models the innermost
    /// stack frame outside PyTorch's own package (the user's line), for scripted models the source line.
    /// </summary>
    public string? PythonSourceAt(long offset)
    {
        var index = _entries.FindLastIndex(e => e.Offset <= offset);
        if (index < 0) return null;
        var (_, text, start, end, fileName, firstLine) = _entries[index];
        if (end <= start || start < 0 || end > text.Length) return null;
        var range = text[(int)start..(int)end];
        var frames = range.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        if (frames.Length > 0 && frames.All(f => f.Contains("): ", StringComparison.Ordinal)))
            return frames.FirstOrDefault(f => !IsPyTorchInternal(f)) ?? frames[0];
        var line = firstLine + text[..(int)start].Count(c => c == '\n');
        var lineStart = text.LastIndexOf('\n', (int)start) + 1;
        var lineEnd = text.IndexOf('\n', (int)start);
        var sourceLine = text[lineStart..(lineEnd < 0 ? text.Length : lineEnd)].Trim();
        return $"{fileName}({line}): {sourceLine}";
    }

    private static bool IsPyTorchInternal(string frame) =>
        frame.Contains("/torch/", StringComparison.Ordinal) || frame.StartsWith("<", StringComparison.Ordinal);
}
