using ModelForge.Convert.Interpret;
using ModelForge.Convert.IR;
using ModelForge.Core.Diagnostics;

namespace ModelForge.Convert.Ops;

/// <summary>
/// The arguments of one aten call, with typed accessors that fail with a diagnostic naming the op and the
/// argument when the model passes something the handler cannot take.
/// </summary>
public sealed class OpArgs
{
    private readonly OpContext _context;

    public OpArgs(OpContext context, IReadOnlyList<object?> positional, IReadOnlyDictionary<string, object?> keywords)
    {
        _context = context;
        Positional = positional;
        Keywords = keywords;
    }

    public IReadOnlyList<object?> Positional { get; }
    public IReadOnlyDictionary<string, object?> Keywords { get; }
    public int Count => Positional.Count;

    /// <summary>The argument at <paramref name="index"/>, or the keyword <paramref name="name"/>, or null (None) if absent.</summary>
    public object? Get(int index, string? name = null) =>
        index < Positional.Count ? Positional[index]
        : name is not null && Keywords.TryGetValue(name, out var value) ? value
        : null;

    public bool IsNone(int index, string? name = null) => Get(index, name) is null;

    public Value Tensor(int index, string? name = null) => Get(index, name) switch
    {
        Value v => v,
        var other => throw Bad(index, name, "a tensor", other),
    };

    public Value? OptionalTensor(int index, string? name = null) => Get(index, name) switch
    {
        null => null,
        Value v => v,
        var other => throw Bad(index, name, "a tensor or None", other),
    };

    public long Int(int index, string? name = null, long? fallback = null) => Get(index, name) switch
    {
        null when fallback.HasValue => fallback.Value,
        long l => l,
        bool b => b ? 1 : 0,
        Value v when _context.TryGetConstantInt64(v, out var c) => c,
        DynamicInt => throw _context.Error(DiagnosticCode.StaticValueRequired,
            $"{_context.OpName} needs argument {Describe(index, name)} to be known at conversion time, but it depends on a dynamic dimension",
            "declare that dimension with a fixed size in --input, or report the model so the op can take a dynamic value"),
        var other => throw Bad(index, name, "an int", other),
    };

    public double Float(int index, string? name = null, double? fallback = null) => Get(index, name) switch
    {
        null when fallback.HasValue => fallback.Value,
        double d => d,
        long l => l,
        bool b => b ? 1 : 0,
        RunTimeFloat => throw _context.Error(DiagnosticCode.StaticValueRequired,
            $"{_context.OpName} needs argument {Describe(index, name)} to be known at conversion time, but it is a float computed at run time",
            "declare the dims it is computed from with fixed sizes in --input, or report the model so the op can take a run-time value"),
        var other => throw Bad(index, name, "a float", other),
    };

    public bool Bool(int index, string? name = null, bool? fallback = null) => Get(index, name) switch
    {
        null when fallback.HasValue => fallback.Value,
        bool b => b,
        long l => l != 0,
        var other => throw Bad(index, name, "a bool", other),
    };

    public string String(int index, string? name = null) => Get(index, name) switch
    {
        string s => s,
        var other => throw Bad(index, name, "a string", other),
    };

    /// <summary>An int list; a single int is broadcast to <paramref name="expand"/> entries when given (torch's <c>int[2]</c>).</summary>
    public long[] Ints(int index, string? name = null, int expand = 0) => Get(index, name) switch
    {
        long l when expand > 0 => Enumerable.Repeat(l, expand).ToArray(),
        List<object?> list => list.Select((item, i) => item switch
        {
            long l => l,
            Value v when _context.TryGetConstantInt64(v, out var c) => c,
            _ => throw Bad(index, name, "a list of ints known at conversion time", item),
        }).ToArray(),
        TupleValue tuple => tuple.Items.Select(item => item is long l ? l : throw Bad(index, name, "a tuple of ints", item)).ToArray(),
        var other => throw Bad(index, name, "a list of ints", other),
    };

    /// <summary>A float list (scale factors); int entries count as floats.</summary>
    public double[] Floats(int index, string? name = null) => Get(index, name) switch
    {
        List<object?> list => list.Select(item => item switch
        {
            double d => d,
            long l => l,
            _ => throw Bad(index, name, "a list of floats", item),
        }).ToArray(),
        var other => throw Bad(index, name, "a list of floats", other),
    };

    /// <summary>An int list whose entries may be dynamic (<see cref="DynamicInt"/>) or static (long).</summary>
    public IReadOnlyList<object> SymInts(int index, string? name = null) => Get(index, name) switch
    {
        List<object?> list => list.Select(item => item switch
        {
            long l => (object)l,
            DynamicInt d => d,
            Value v when _context.TryGetConstantInt64(v, out var c) => c,
            Value v => new DynamicInt(v),
            _ => throw Bad(index, name, "a list of ints", item),
        }).ToArray(),
        TupleValue tuple => tuple.Items.Select(item => item ?? throw Bad(index, name, "a tuple of ints", item)).ToArray(),
        var other => throw Bad(index, name, "a list of ints", other),
    };

    public IReadOnlyList<Value> Tensors(int index, string? name = null) => Get(index, name) switch
    {
        List<object?> list => list.Select(item => item as Value ?? throw Bad(index, name, "a list of tensors", item)).ToArray(),
        TupleValue tuple => tuple.Items.Select(item => item as Value ?? throw Bad(index, name, "a tuple of tensors", item)).ToArray(),
        var other => throw Bad(index, name, "a list of tensors", other),
    };

    private static string Describe(int index, string? name) => name is null ? $"#{index + 1}" : $"#{index + 1} ('{name}')";

    private ModelForgeException Bad(int index, string? name, string expected, object? actual) =>
        _context.Error(DiagnosticCode.InvalidOpArguments,
            $"{_context.OpName} expects argument {Describe(index, name)} to be {expected}, got {Interpreter.DescribeValue(actual)}",
            "this TorchScript call form is not supported yet; please report it with the model");
}
