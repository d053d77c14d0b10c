using ModelForge.Convert.Frontend.Script;

namespace ModelForge.Convert.IR;

/// <summary>Constant tensor bytes, row-major little-endian; for archive weights the memory is a view on the mapped file.</summary>
public sealed record ConstantData(DataType ElementType, long[] Shape, ReadOnlyMemory<byte> Bytes)
{
    public long ElementCount => Shape.Aggregate(1L, (a, b) => a * b);
}

/// <summary>
/// A tensor in the graph: a graph input, an initializer (<see cref="Constant"/> set), or a node output.
/// </summary>
public sealed class Value
{
    internal Value(string name, TensorType type) { Name = name; Type = type; }

    public string Name { get; internal set; }
    public TensorType Type { get; set; }
    public Node? Producer { get; internal set; }
    public ConstantData? Constant { get; internal set; }
    public bool IsInitializer => Constant is not null;

    /// <summary>For a 0-d int64 holding the size of a symbolic dim (Shape → Gather): that dim, so shapes built from it keep its name.</summary>
    public Dim? SizeOf { get; internal set; }

    /// <summary>
    /// For the result of <c>slice</c>/<c>select</c>: which part of which tensor it views, so that an in-place op on it
    /// (<c>x[:, 2:4].fill_(v)</c>) can be written back into the base tensor.
    /// </summary>
    public ViewOf? View { get; set; }

    public override string ToString() => $"%{Name}: {Type}";
}

/// <summary>
/// <see cref="Value.View"/>: the value is <c>Base</c> restricted to [<c>Start</c>, <c>End</c>) along <c>Axis</c> (static,
/// normalized, step 1); <c>Squeezed</c> when that axis was removed (<c>select</c>).
/// </summary>
public sealed record ViewOf(Value Base, int Axis, long Start, long End, bool Squeezed);

/// <summary>An ONNX attribute value: long, double, string, long[], double[], or a tensor.</summary>
public sealed record AttributeValue(object Value)
{
    public static implicit operator AttributeValue(long v) => new((object)v);
    public static implicit operator AttributeValue(int v) => new((object)(long)v);
    public static implicit operator AttributeValue(double v) => new((object)v);
    public static implicit operator AttributeValue(float v) => new((object)(double)v);
    public static implicit operator AttributeValue(string v) => new((object)v);
    public static implicit operator AttributeValue(long[] v) => new((object)v);
    public static implicit operator AttributeValue(double[] v) => new((object)v);
    public static implicit operator AttributeValue(ConstantData v) => new((object)v);

    public override string ToString() => Value switch
    {
        long[] l => "[" + string.Join(",", l) + "]",
        double[] d => "[" + string.Join(",", d.Select(x => x.ToString("R", System.Globalization.CultureInfo.InvariantCulture))) + "]",
        double d => d.ToString("R", System.Globalization.CultureInfo.InvariantCulture),
        string s => "\"" + s + "\"",
        ConstantData c => $"tensor<{c.ElementType.Name()}[{string.Join(",", c.Shape)}]>",
        _ => Value.ToString()!,
    };
}

/// <summary>One ONNX operator application. <see cref="Inputs"/> may hold null for an omitted optional input.</summary>
public sealed class Node
{
    internal Node(string name, string opType, IReadOnlyList<Value?> inputs, IReadOnlyList<Value> outputs,
        SortedDictionary<string, AttributeValue> attributes, SourceSpan? origin)
    {
        Name = name; OpType = opType; Inputs = inputs.ToList(); Outputs = outputs.ToList();
        Attributes = attributes; Origin = origin;
    }

    public string Name { get; internal set; }
    public string OpType { get; }
    public string Domain { get; init; } = "";
    public List<Value?> Inputs { get; }
    public List<Value> Outputs { get; }
    /// <summary>Sorted by name so emission order never depends on the order a handler set them in.</summary>
    public SortedDictionary<string, AttributeValue> Attributes { get; }
    /// <summary>The TorchScript call this node was lowered from.</summary>
    public SourceSpan? Origin { get; }

    public override string ToString() =>
        $"{string.Join(", ", Outputs.Select(o => "%" + o.Name))} = {OpType}({string.Join(", ", Inputs.Select(i => i is null ? "_" : "%" + i.Name))})" +
        (Attributes.Count == 0 ? "" : " {" + string.Join(", ", Attributes.Select(a => $"{a.Key}={a.Value}")) + "}");
}

/// <summary>
/// The conversion IR: an ONNX-level graph whose values carry tracked types and shapes. Names are allocated
/// deterministically from a scope path and a per-name counter, so the same model always gives the same names.
/// </summary>
public sealed class Graph
{
    private readonly HashSet<string> _usedNames = new(StringComparer.Ordinal);

    public string Name { get; set; } = "main";
    public List<Value> Inputs { get; } = [];
    public List<Value> Outputs { get; } = [];
    public List<Value> Initializers { get; } = [];
    public List<Node> Nodes { get; } = [];

    /// <summary>Returns <paramref name="preferred"/> if unused, else the first free <c>preferred_N</c>.</summary>
    public string UniqueName(string preferred)
    {
        if (_usedNames.Add(preferred)) return preferred;
        for (var i = 1; ; i++)
        {
            var candidate = $"{preferred}_{i}";
            if (_usedNames.Add(candidate)) return candidate;
        }
    }

    public Value AddInput(string name, TensorType type)
    {
        var value = new Value(UniqueName(name), type);
        Inputs.Add(value);
        return value;
    }

    public Value AddInitializer(string name, ConstantData data)
    {
        var shape = data.Shape.Select(Dim.Of).ToArray();
        var value = new Value(UniqueName(name), new TensorType(data.ElementType, shape)) { Constant = data };
        Initializers.Add(value);
        return value;
    }

    public Node AddNode(string opType, IReadOnlyList<Value?> inputs, IReadOnlyList<TensorType> outputTypes,
        SortedDictionary<string, AttributeValue>? attributes, string scope, SourceSpan? origin)
    {
        var nodeName = UniqueName($"{scope}/{opType}");
        var outputs = outputTypes.Select((t, i) => new Value(UniqueName(outputTypes.Count == 1 ? $"{nodeName}_output" : $"{nodeName}_output_{i}"), t)).ToList();
        var node = new Node(nodeName, opType, inputs, outputs, attributes ?? new(StringComparer.Ordinal), origin);
        foreach (var output in outputs) output.Producer = node;
        Nodes.Add(node);
        return node;
    }

    /// <summary>Marks a value as a graph output under the given name, inserting an Identity if it cannot be renamed.</summary>
    public void AddOutput(Value value, string name)
    {
        // A graph input, an initializer, or a value already exposed under another name must keep its own
        // name, so the output gets an Identity of its own.
        if (value.Producer is null || Outputs.Contains(value))
            value = AddNode("Identity", [value], [value.Type], null, "", null).Outputs[0];
        _usedNames.Remove(value.Name);
        if (!_usedNames.Add(name))
            throw new InvalidOperationException($"output name '{name}' is already used in the graph");
        value.Name = name;
        Outputs.Add(value);
    }

    /// <summary>
    /// Drops initializers no node or output uses: constants that shape code folded away at conversion time
    /// (sizes, channel counts) leave theirs behind.
    /// </summary>
    public void RemoveUnusedInitializers()
    {
        var used = new HashSet<Value>(Nodes.SelectMany(n => n.Inputs).OfType<Value>().Concat(Outputs), ReferenceEqualityComparer.Instance);
        Initializers.RemoveAll(i => !used.Contains(i));
    }

    /// <summary>A readable, deterministic dump (for golden tests and debugging).</summary>
    public string Dump()
    {
        var sb = new System.Text.StringBuilder();
        sb.AppendLine($"graph {Name}(" + string.Join(", ", Inputs) + ")");
        foreach (var init in Initializers) sb.AppendLine($"  init {init}");
        foreach (var node in Nodes) sb.AppendLine($"  {node}");
        sb.AppendLine("  return " + string.Join(", ", Outputs.Select(o => o.ToString())));
        return sb.ToString();
    }
}
