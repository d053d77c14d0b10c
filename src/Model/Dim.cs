namespace ModelForge.Model;

/// <summary>One dimension of a tensor shape: a known size, or a named symbolic size (the batch dim, say).</summary>
public readonly record struct Dim
{
    private Dim(long? value, string? symbol) { Value = value; Symbol = symbol; }

    public long? Value { get; }
    public string? Symbol { get; }
    public bool IsStatic => Value.HasValue;

    public static Dim Of(long value) => new(value, null);
    public static Dim Named(string symbol) => new(null, symbol);
    public static implicit operator Dim(long value) => Of(value);

    public override string ToString() => Value?.ToString() ?? Symbol ?? "?";
}

/// <summary>Element type plus shape; <see cref="Shape"/> is null when not even the rank is known.</summary>
public sealed record TensorType(DataType ElementType, IReadOnlyList<Dim>? Shape)
{
    public int Rank => Shape?.Count ?? throw new InvalidOperationException("rank unknown");
    public bool HasRank => Shape is not null;
    public bool IsFullyStatic => Shape is not null && Shape.All(d => d.IsStatic);

    public long[] StaticShape() => Shape!.Select(d => d.Value ?? throw new InvalidOperationException("dynamic dim")).ToArray();

    public static TensorType Of(DataType type, params Dim[] shape) => new(type, shape);
    public static TensorType Scalar(DataType type) => new(type, Array.Empty<Dim>());

    public TensorType WithShape(IReadOnlyList<Dim>? shape) => this with { Shape = shape };
    public TensorType WithElementType(DataType type) => this with { ElementType = type };

    public override string ToString() =>
        $"{ElementType.Name()}[{(Shape is null ? "*" : string.Join(",", Shape))}]";
}
