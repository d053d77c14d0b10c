namespace ModelForge.TorchScript.Pickle;

/// <summary>A Python tuple.</summary>
public sealed record PickleTuple(IReadOnlyList<object?> Items)
{
    public int Count => Items.Count;
    public object? this[int index] => Items[index];
    public override string ToString() => $"({string.Join(", ", Items.Select(PickleFormat.Short))}{(Items.Count == 1 ? "," : "")})";
}

/// <summary>Ordered dict (dict and collections.OrderedDict); keys are usually strings.</summary>
public sealed class PickleDict
{
    private readonly List<KeyValuePair<object?, object?>> _entries = [];
    private readonly Dictionary<object, int> _index = [];
    private int _nullKeyIndex = -1;

    public IReadOnlyList<KeyValuePair<object?, object?>> Entries => _entries;
    public int Count => _entries.Count;
    public IEnumerable<object?> Keys => _entries.Select(e => e.Key);

    public bool TryGetValue(string key, out object? value) => TryGetValue((object)key, out value);

    /// <summary>Lookup by any key (strings, longs, …), compared as .NET values.</summary>
    public bool TryGetValue(object? key, out object? value)
    {
        var index = key is null ? _nullKeyIndex : _index.GetValueOrDefault(key, -1);
        value = index >= 0 ? _entries[index].Value : null;
        return index >= 0;
    }

    public bool ContainsKey(string key) => _index.ContainsKey(key);

    public object? this[string key] => TryGetValue(key, out var value) ? value : throw new KeyNotFoundException($"key '{key}' is not in the dict");

    /// <summary>Python's <c>d[key] = value</c>: replaces in place (keeping the position) or appends.</summary>
    internal void Set(object? key, object? value)
    {
        var index = key is null ? _nullKeyIndex : _index.GetValueOrDefault(key, -1);
        if (index >= 0)
        {
            _entries[index] = new KeyValuePair<object?, object?>(_entries[index].Key, value);
            return;
        }
        if (key is null) _nullKeyIndex = _entries.Count;
        else _index[key] = _entries.Count;
        _entries.Add(new KeyValuePair<object?, object?>(key, value));
    }

    public override string ToString() => $"{{{string.Join(", ", _entries.Take(8).Select(e => $"{PickleFormat.Short(e.Key)}: {PickleFormat.Short(e.Value)}"))}{(Count > 8 ? ", …" : "")}}}";
}

/// <summary>A TorchScript object: GLOBAL class + NEWOBJ, with its BUILD state (normally a <see cref="PickleDict"/> of attributes).</summary>
public sealed class PickleObject
{
    internal PickleObject(string className) => ClassName = className;

    /// <summary>Qualified class name, module + "." + name: <c>__torch__.torchvision.models.resnet.ResNet</c>.</summary>
    public string ClassName { get; }

    /// <summary>What BUILD gave the object: a <see cref="PickleDict"/> of attributes, or whatever <c>__getstate__</c> returned.</summary>
    public object? State { get; internal set; }

    internal bool HasState { get; set; }

    /// <summary>An attribute from a dict state.</summary>
    public bool TryGetAttribute(string name, out object? value)
    {
        if (State is PickleDict dict) return dict.TryGetValue(name, out value);
        value = null;
        return false;
    }

    public override string ToString() => $"{ClassName}(…)";
}

internal static class PickleFormat
{
    public static string Short(object? value) => value switch
    {
        null => "None",
        string s => s.Length <= 40 ? $"'{s}'" : $"'{s[..40]}…'",
        bool b => b ? "True" : "False",
        PickleObject o => o.ClassName,
        PickleTuple t => t.Count <= 4 ? t.ToString() : $"(…{t.Count} items)",
        List<object?> l => $"[…{l.Count} items]",
        PickleDict d => $"{{…{d.Count} items}}",
        byte[] b => $"b'…{b.Length} bytes'",
        IFormattable f => f.ToString(null, System.Globalization.CultureInfo.InvariantCulture),
        _ => value.ToString() ?? "?",
    };
}
