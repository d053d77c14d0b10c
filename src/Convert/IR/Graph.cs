using ModelForge.Core.Diagnostics;
using ModelForge.TorchScript.Script;

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
    /// For a value torch holds as a view of another tensor (<c>slice</c>, <c>select</c>, <c>transpose</c>, <c>view</c>, …):
    /// how it views that tensor, so that an in-place op on it (<c>x[:, 2:4].fill_(v)</c>) can be written back into the
    /// base tensor, or refused where it cannot.
    /// </summary>
    public ViewOf? View { get; set; }

    /// <summary>
    /// For a tensor PyTorch holds quantized: its quantizer. The graph carries the dequantized float values (the output
    /// of a DequantizeLinear), so the lowering of the next quantized op knows the scale its input was rounded to.
    /// </summary>
    public Quantization? Quantized { get; set; }

    /// <summary>
    /// For a complex tensor (what <c>stft</c> and <c>view_as_complex</c> give): the graph carries it as real values with one more
    /// trailing dim of 2 (real, imaginary), the layout of ONNX's DFT and STFT.
    /// </summary>
    public bool IsComplex { get; set; }

    public override string ToString() => $"%{Name}: {Type}";
}

/// <summary>
/// <see cref="Value.Quantized"/>: real = (q − zero_point) × scale with q of <see cref="IntegerType"/> (int8, uint8, int32), one
/// scale per tensor (<see cref="Axis"/> −1) or one per channel along <see cref="Axis"/>.
/// </summary>
public sealed record Quantization(double[] Scales, long[] ZeroPoints, int Axis, DataType IntegerType)
{
    public bool PerTensor => Axis < 0;
}

/// <summary><see cref="Value.View"/>: the value shares <c>Base</c>'s storage in torch, so an in-place change of it changes <c>Base</c>.</summary>
public abstract record ViewOf(Value Base);

/// <summary>
/// <c>Base</c> at the positions <c>Start</c>, <c>Start + Step</c>, … before <c>End</c> along <c>Axis</c> (static,
/// normalized); <c>Squeezed</c> when that axis was removed (<c>select</c>).
/// </summary>
public sealed record RangeView(Value Base, int Axis, long Start, long End, bool Squeezed, long Step = 1) : ViewOf(Base);

/// <summary>
/// <c>Base</c> at the positions <c>Start</c>, <c>Start + Step</c>, … before <c>End</c> along <c>Axis</c>, bounds as
/// <c>slice</c> takes them (0-d int64 values, known at run time or counting from the end of a dim known only then,
/// clamped as in Python); no <c>End</c>: the one position <c>Start</c>, its axis removed (<c>select</c>).
/// </summary>
public sealed record StridedView(Value Base, int Axis, Value Start, Value? End, long Step) : ViewOf(Base);

/// <summary><c>Base</c> with its dims in the order <c>Perm</c> (<c>transpose</c>, <c>permute</c>, <c>t</c>, <c>movedim</c>).</summary>
public sealed record PermutedView(Value Base, long[] Perm) : ViewOf(Base);

/// <summary><c>Base</c>'s elements in the same row-major order, another shape (<c>view</c>, <c>unsqueeze</c>, <c>squeeze</c>, <c>flatten</c>).</summary>
public sealed record ReshapedView(Value Base) : ViewOf(Base);

/// <summary>
/// A view whose elements the converted graph cannot map back to <c>Base</c> (<c>expand</c>, <c>diagonal</c>, a
/// <c>reshape</c> of a transposed tensor, …): <c>Op</c> at <c>Location</c> made it, and an in-place op on it is refused.
/// </summary>
public sealed record OpaqueView(Value Base, string Op, string Reason, SourceLocation Location) : ViewOf(Base);

/// <summary>An ONNX attribute value: long, double, string, long[], double[], a tensor, or a subgraph (If branches, Loop body).</summary>
public sealed record AttributeValue(object Value)
{
    public static implicit operator AttributeValue(long v) => new((object)v);
    public static implicit operator AttributeValue(int v) => new((object)(long)v);
    public static implicit operator AttributeValue(double v) => new((object)v);
    public static implicit operator AttributeValue(float v) => new((object)(double)v);
    public static implicit operator AttributeValue(string v) => new((object)v);
    public static implicit operator AttributeValue(long[] v) => new((object)v);
    public static implicit operator AttributeValue(double[] v) => new((object)v);
    public static implicit operator AttributeValue(string[] v) => new((object)v);
    public static implicit operator AttributeValue(ConstantData v) => new((object)v);
    public static implicit operator AttributeValue(Graph v) => new((object)v);

    public override string ToString() => Value switch
    {
        long[] l => "[" + string.Join(",", l) + "]",
        double[] d => "[" + string.Join(",", d.Select(x => x.ToString("R", System.Globalization.CultureInfo.InvariantCulture))) + "]",
        double d => d.ToString("R", System.Globalization.CultureInfo.InvariantCulture),
        string s => "\"" + s + "\"",
        ConstantData c => $"tensor<{c.ElementType.Name()}[{string.Join(",", c.Shape)}]>",
        Graph g => $"graph {g.Name}",
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

    /// <summary>The graphs held in attributes (If's branches, Loop's body), in attribute-name order.</summary>
    public IEnumerable<Graph> Subgraphs => Attributes.Values.Select(a => a.Value).OfType<Graph>();

    /// <summary>
    /// Values of enclosing graphs that this node's subgraphs read. ONNX subgraphs see outer-scope values by name, so
    /// for liveness and rewiring these count as inputs of the node that holds the subgraph.
    /// </summary>
    public IReadOnlyList<Value> OuterValues =>
        Subgraphs.SelectMany(g => g.OuterReferences()).Distinct(ReferenceEqualityComparer.Instance).Cast<Value>().ToList();

    /// <summary>Every value the node reads: its inputs, then the outer-scope values its subgraphs read.</summary>
    public IEnumerable<Value> Uses => Inputs.OfType<Value>().Concat(OuterValues);

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
    // Shared with every subgraph, so value and node names are unique model-wide (ONNX resolves outer-scope
    // references by name, so a subgraph name must never shadow an outer one).
    private readonly HashSet<string> _usedNames;

    public Graph() => _usedNames = new(StringComparer.Ordinal);

    private Graph(Graph parent, string name)
    {
        _usedNames = parent._usedNames;
        Parent = parent;
        Name = UniqueName(name);
    }

    public string Name { get; set; } = "main";
    /// <summary>The graph whose node holds this one as an attribute; null for the model's main graph.</summary>
    public Graph? Parent { get; internal set; }
    /// <summary>The model's main graph.</summary>
    public Graph Main => Parent?.Main ?? this;
    public List<Value> Inputs { get; } = [];
    public List<Value> Outputs { get; } = [];
    /// <summary>The main graph's initializers; subgraphs keep none (their constants go to the main graph, visible everywhere).</summary>
    public List<Value> Initializers { get; } = [];
    public List<Node> Nodes { get; } = [];
    /// <summary>Intermediate values whose type and shape are emitted as <c>value_info</c> (filled by <c>ValueInfoPass</c>).</summary>
    public List<Value> ValueInfo { get; } = [];

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

    /// <summary>A subgraph for a node attribute; its names come from this graph's name space.</summary>
    public Graph CreateSubgraph(string name) => new(this, name);

    public Value AddInitializer(string name, ConstantData data)
    {
        var shape = data.Shape.Select(Dim.Of).ToArray();
        var value = new Value(UniqueName(name), new TensorType(data.ElementType, shape)) { Constant = data };
        Main.Initializers.Add(value);
        return value;
    }

    /// <summary>ONNX Runtime's contrib operator domain, version 1.</summary>
    public const string MicrosoftDomain = "com.microsoft";

    public Node AddNode(string opType, IReadOnlyList<Value?> inputs, IReadOnlyList<TensorType> outputTypes,
        SortedDictionary<string, AttributeValue>? attributes, string scope, SourceSpan? origin, string domain = "")
    {
        var nodeName = UniqueName($"{scope}/{opType}");
        var outputs = outputTypes.Select((t, i) => new Value(UniqueName(outputTypes.Count == 1 ? $"{nodeName}_output" : $"{nodeName}_output_{i}"), t)).ToList();
        var node = new Node(nodeName, opType, inputs, outputs, attributes ?? new(StringComparer.Ordinal), origin) { Domain = domain };
        foreach (var output in outputs) output.Producer = node;
        Nodes.Add(node);
        return node;
    }

    /// <summary>
    /// Appends a subgraph output (If branch, Loop body). Subgraph outputs are matched by position, not name; one that
    /// is not computed by this subgraph's own nodes (an outer-scope value, an input, an output already listed) gets an
    /// Identity here, since ONNX Runtime rejects an outer-scope value returned directly.
    /// </summary>
    public void AddSubgraphOutput(Value value, string scope)
    {
        if (value.Producer is null || !Nodes.Contains(value.Producer) || Outputs.Contains(value))
            value = AddNode("Identity", [value], [value.Type], null, scope, null).Outputs[0];
        Outputs.Add(value);
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
        var used = new HashSet<Value>(Nodes.SelectMany(n => n.Uses).Concat(Outputs), ReferenceEqualityComparer.Instance);
        Initializers.RemoveAll(i => !used.Contains(i));
    }

    /// <summary>
    /// Nodes that read each value (a node appears once per input slot that reads the value, and once if its subgraphs
    /// read it).
    /// </summary>
    public Dictionary<Value, List<Node>> Consumers()
    {
        var consumers = new Dictionary<Value, List<Node>>(ReferenceEqualityComparer.Instance);
        foreach (var node in Nodes)
            foreach (var input in node.Uses)
            {
                if (!consumers.TryGetValue(input, out var list)) consumers[input] = list = [];
                list.Add(node);
            }
        return consumers;
    }

    /// <summary>
    /// Makes every reader of <paramref name="old"/> read <paramref name="replacement"/> instead. A graph output keeps
    /// its name: the replacement takes it over when it is a node output not exposed yet, else an Identity carries it.
    /// The caller removes <paramref name="old"/>'s producer (or leaves it to dead-code elimination).
    /// </summary>
    public void ReplaceAllUses(Value old, Value replacement)
    {
        if (ReferenceEquals(old, replacement)) return;
        ReplaceReads(old, replacement);
        var index = Outputs.IndexOf(old);
        if (index < 0) return;
        var name = old.Name;
        Rename(old, UniqueName(name + "_replaced"));
        if (replacement.Producer is null || Outputs.Contains(replacement))
        {
            var identity = new Node(UniqueName("/Identity"), "Identity", [replacement], [new Value(name, replacement.Type)],
                new SortedDictionary<string, AttributeValue>(StringComparer.Ordinal), null);
            identity.Outputs[0].Producer = identity;
            _usedNames.Add(name);
            Nodes.Add(identity);
            Outputs[index] = identity.Outputs[0];
        }
        else
        {
            Rename(replacement, name);
            Outputs[index] = replacement;
        }
    }

    /// <summary>Rewires node inputs here and in every nested subgraph, and subgraph outputs (positional, so no renaming).</summary>
    private void ReplaceReads(Value old, Value replacement) =>
        ReplaceReads(new Dictionary<Value, Value>(ReferenceEqualityComparer.Instance) { [old] = replacement });

    /// <summary>
    /// Makes every node (subgraphs' included) read each value's replacement instead, in one walk of the graph: for a pass
    /// that replaces many values (constant folding), where one walk per value would cost the graph's size each time.
    /// Graph outputs are left to <see cref="ReplaceAllUses"/>, which keeps their names.
    /// </summary>
    public void ReplaceReads(IReadOnlyDictionary<Value, Value> replacements)
    {
        foreach (var node in Nodes)
        {
            for (var i = 0; i < node.Inputs.Count; i++)
                if (node.Inputs[i] is { } input && replacements.TryGetValue(input, out var replacement)) node.Inputs[i] = replacement;
            foreach (var subgraph in node.Subgraphs)
            {
                subgraph.ReplaceReads(replacements);
                for (var i = 0; i < subgraph.Outputs.Count; i++)
                    if (replacements.TryGetValue(subgraph.Outputs[i], out var replacement)) subgraph.Outputs[i] = replacement;
            }
        }
    }

    /// <summary>
    /// Values this graph reads but does not define (its inputs and node outputs define values): outer-scope
    /// references, main-graph initializers included, in order of first use. Nested subgraphs' references count.
    /// </summary>
    public IEnumerable<Value> OuterReferences()
    {
        var defined = new HashSet<Value>(Inputs, ReferenceEqualityComparer.Instance);
        var seen = new HashSet<Value>(ReferenceEqualityComparer.Instance);
        foreach (var node in Nodes)
        {
            foreach (var used in node.Uses)
                if (!defined.Contains(used) && seen.Add(used)) yield return used;
            defined.UnionWith(node.Outputs);
        }
        foreach (var output in Outputs)
            if (!defined.Contains(output) && seen.Add(output)) yield return output;
    }

    /// <summary>Adds a node right before <paramref name="anchor"/> (so it sees everything the anchor sees).</summary>
    public Node InsertNodeBefore(Node anchor, string opType, IReadOnlyList<Value?> inputs, IReadOnlyList<TensorType> outputTypes,
        SortedDictionary<string, AttributeValue>? attributes = null)
    {
        var node = AddNode(opType, inputs, outputTypes, attributes, ScopeOf(anchor), anchor.Origin);
        Nodes.RemoveAt(Nodes.Count - 1);
        Nodes.Insert(Nodes.IndexOf(anchor), node);
        return node;
    }

    /// <summary>The scope part of a node name (<c>layer1/conv/Conv_2</c> → <c>layer1/conv</c>).</summary>
    private static string ScopeOf(Node node) => node.Name.LastIndexOf('/') is var slash and >= 0 ? node.Name[..slash] : "";

    /// <summary>Renames a value; <paramref name="name"/> must be unused (or freed by this rename's caller).</summary>
    internal void Rename(Value value, string name)
    {
        if (value.Name == name) return;
        _usedNames.Remove(value.Name);
        _usedNames.Add(name);
        value.Name = name;
    }

    /// <summary>A readable, deterministic dump (for golden tests and debugging): types of every value, small constants' contents.</summary>
    /// <remarks>Subgraphs follow the node holding them, indented, in attribute-name order.</remarks>
    public string Dump()
    {
        var sb = new System.Text.StringBuilder();
        Dump(sb, "");
        return sb.ToString();
    }

    private void Dump(System.Text.StringBuilder sb, string indent)
    {
        sb.AppendLine($"{indent}graph {Name}(" + string.Join(", ", Inputs) + ")");
        foreach (var init in Initializers) sb.AppendLine($"{indent}  init {init}{ConstantText(init.Constant!)}");
        foreach (var node in Nodes)
        {
            sb.AppendLine($"{indent}  " + string.Join(", ", node.Outputs) + " = " + (node.Domain.Length > 0 ? node.Domain + "." : "") +
                $"{node.OpType}({string.Join(", ", node.Inputs.Select(i => i is null ? "_" : "%" + i.Name))})" +
                (node.Attributes.Count == 0 ? "" : " {" + string.Join(", ", node.Attributes.Select(a => $"{a.Key}={a.Value}")) + "}"));
            foreach (var subgraph in node.Subgraphs) subgraph.Dump(sb, indent + "    ");
        }
        foreach (var info in ValueInfo) sb.AppendLine($"{indent}  value_info {info}");
        sb.AppendLine($"{indent}  return " + string.Join(", ", Outputs.Select(o => o.ToString())));
    }

    /// <summary>Up to 8 elements printed in full (what golden tests need), larger constants by size only.</summary>
    private static string ConstantText(ConstantData data)
    {
        if (data.ElementCount > 8) return $" = <{data.Bytes.Length} bytes>";
        var span = data.Bytes.Span;
        var culture = System.Globalization.CultureInfo.InvariantCulture;
        IEnumerable<string> items = data.ElementType switch
        {
            DataType.Float32 => System.Runtime.InteropServices.MemoryMarshal.Cast<byte, float>(span).ToArray().Select(f => f.ToString("R", culture)),
            DataType.Float64 => System.Runtime.InteropServices.MemoryMarshal.Cast<byte, double>(span).ToArray().Select(f => f.ToString("R", culture)),
            DataType.Int64 => System.Runtime.InteropServices.MemoryMarshal.Cast<byte, long>(span).ToArray().Select(f => f.ToString(culture)),
            DataType.Int32 => System.Runtime.InteropServices.MemoryMarshal.Cast<byte, int>(span).ToArray().Select(f => f.ToString(culture)),
            _ => [System.Convert.ToHexString(span)],
        };
        return " = [" + string.Join(", ", items) + "]";
    }
}
