using System.Reflection;
using ModelForge.Convert.IR;

namespace ModelForge.Convert.Ops;

/// <summary>Marks a handler class: the aten (or prim) ops it lowers, e.g. <c>[AtenOp("aten::relu", "aten::relu_")]</c>.</summary>
[AttributeUsage(AttributeTargets.Class)]
public sealed class AtenOpAttribute(params string[] names) : Attribute
{
    public IReadOnlyList<string> Names { get; } = names;
}

/// <summary>Marks a handler method as the lowering from ONNX opset <see cref="Version"/> up to the next marked version.</summary>
[AttributeUsage(AttributeTargets.Method)]
public sealed class OpsetAttribute(int version) : Attribute
{
    public int Version { get; } = version;
}

/// <summary>
/// Marks a handler class whose lowering is one ONNX node on the call's tensor, of the same shape (<c>neg(x)</c> → Neg):
/// the class needs no method for it, e.g. <c>[AtenOp("aten::neg", "aten::neg_"), Elementwise("Neg")] internal static class Neg;</c>.
/// The registry lowers it from <see cref="FromOpset"/> (13 unless set) up to the next <see cref="OpsetAttribute"/>
/// method of the class, if any.
/// </summary>
[AttributeUsage(AttributeTargets.Class)]
public sealed class ElementwiseAttribute(string onnxOp) : Attribute
{
    public string OnnxOp { get; } = onnxOp;

    /// <summary>The opset this lowering starts at; a class can spell an op out before the ONNX op existed.</summary>
    public int FromOpset { get; set; } = OpRegistry.MinOpset;

    /// <summary>Integer and bool tensors are cast to float32 first, as torch computes exp, sqrt, erf, … in floating point.</summary>
    public bool IntegersToFloat { get; set; }

    internal object? Lower(OpContext c, OpArgs a)
    {
        var x = IntegersToFloat ? c.ToFloat(a.Tensor(0)) : a.Tensor(0);
        return c.Op(OnnxOp, [x], x.Type);
    }
}

/// <summary>Lowers one call. Returns the Python-level result: a tensor Value, a list/tuple of them, an int, …</summary>
public delegate object? OpHandler(OpContext context, OpArgs args);

/// <summary>
/// The op-handler registry: one static class per aten op with one method per opset, dispatched to the
/// highest version not above the target (tf2onnx's <c>version_N</c>, PyTorch's <c>symbolic_opsetN</c>).
/// Handlers are found by reflection once, so adding an op is adding one class, in the file of its family
/// (<c>Handlers/README.md</c>); a one-node elementwise op is a class with <see cref="ElementwiseAttribute"/> and no body.
/// </summary>
public sealed class OpRegistry
{
    public const int MinOpset = 13;
    public const int MaxOpset = 20;
    public const int DefaultOpset = 17;

    private readonly Dictionary<string, SortedList<int, (OpHandler Handler, Type Class)>> _handlers = new(StringComparer.Ordinal);

    public static OpRegistry Default { get; } = FromAssembly(typeof(OpRegistry).Assembly);

    public static OpRegistry FromAssembly(Assembly assembly)
    {
        var registry = new OpRegistry();
        foreach (var type in assembly.GetTypes())
        {
            if (type.GetCustomAttribute<AtenOpAttribute>() is not { } op) continue;
            var lowerings = (from method in type.GetMethods(BindingFlags.Static | BindingFlags.Public | BindingFlags.NonPublic)
                             let opset = method.GetCustomAttribute<OpsetAttribute>()
                             where opset is not null
                             select (opset.Version, method.CreateDelegate<OpHandler>())).ToList();
            if (type.GetCustomAttribute<ElementwiseAttribute>() is { } elementwise)
                lowerings.Add((elementwise.FromOpset, elementwise.Lower));
            foreach (var (version, handler) in lowerings)
            {
                foreach (var name in op.Names)
                {
                    if (!registry._handlers.TryGetValue(name, out var versions))
                        registry._handlers[name] = versions = new SortedList<int, (OpHandler, Type)>();
                    if (versions.ContainsKey(version))
                        throw new InvalidOperationException($"{name} has two handlers for opset {version}");
                    versions.Add(version, (handler, type));
                }
            }
        }
        return registry;
    }

    public bool IsKnown(string op) => _handlers.ContainsKey(op);

    /// <summary>
    /// The handler for <paramref name="op"/> at <paramref name="opset"/>. When the op is known but only from a
    /// later opset, returns null and sets <paramref name="minimumOpset"/> so the caller can say which would work.
    /// </summary>
    public OpHandler? Resolve(string op, int opset, out int? minimumOpset)
    {
        minimumOpset = null;
        if (!_handlers.TryGetValue(op, out var versions)) return null;
        OpHandler? best = null;
        foreach (var (version, entry) in versions)
        {
            if (version > opset) break;
            best = entry.Handler;
        }
        if (best is null) minimumOpset = versions.Keys[0];
        return best;
    }

    /// <summary>Every registered op with its opset versions and handler class, sorted by op name (for docs/op-support.md).</summary>
    public IEnumerable<(string Op, IReadOnlyList<int> Opsets, Type Handler)> Describe() =>
        _handlers.OrderBy(h => h.Key, StringComparer.Ordinal)
                 .Select(h => (h.Key, (IReadOnlyList<int>)h.Value.Keys.ToList(), h.Value.Values[0].Class));
}
