using ModelForge.Convert.IR;

namespace ModelForge.Convert.Ops;

/// <summary>Shape arithmetic shared by handlers. Dims are static where they can be, symbolic otherwise.</summary>
public static class Shapes
{
    /// <summary>The symbol of a dim whose size cannot be tracked; emitted as a dim with neither value nor name.</summary>
    public const string UnknownSymbol = "?";

    public static Dim Unknown() => Dim.Named(UnknownSymbol);

    /// <summary>Wraps a possibly negative dim index into [0, rank).</summary>
    public static int NormalizeAxis(long axis, int rank) => (int)(axis < 0 ? axis + rank : axis);

    /// <summary>Numpy/torch broadcasting of two shapes; null when either rank is unknown.</summary>
    public static IReadOnlyList<Dim>? Broadcast(IReadOnlyList<Dim>? a, IReadOnlyList<Dim>? b)
    {
        if (a is null || b is null) return null;
        var rank = Math.Max(a.Count, b.Count);
        var result = new Dim[rank];
        for (var i = 0; i < rank; i++)
        {
            var da = i - (rank - a.Count) >= 0 ? a[i - (rank - a.Count)] : Dim.Of(1);
            var db = i - (rank - b.Count) >= 0 ? b[i - (rank - b.Count)] : Dim.Of(1);
            result[i] = da.Value == 1 ? db : db.Value == 1 ? da : da.IsStatic ? da : db;
        }
        return result;
    }

    public static IReadOnlyList<Dim>? Broadcast(IEnumerable<IReadOnlyList<Dim>?> shapes) =>
        shapes.Aggregate((IReadOnlyList<Dim>?)Array.Empty<Dim>(), Broadcast);

    public static IReadOnlyList<Dim> Unsqueeze(IReadOnlyList<Dim> shape, long[] axes)
    {
        var rank = shape.Count + axes.Length;
        var normalized = axes.Select(a => NormalizeAxis(a, rank)).ToHashSet();
        var result = new List<Dim>(rank);
        var source = 0;
        for (var i = 0; i < rank; i++)
            result.Add(normalized.Contains(i) ? Dim.Of(1) : shape[source++]);
        return result;
    }

    /// <summary>Output size of a sliding window (convolution, pooling) along one spatial dim.</summary>
    public static Dim Window(Dim input, long kernel, long stride, long padBegin, long padEnd, long dilation, bool ceilMode = false)
    {
        if (!input.IsStatic) return Unknown();
        var effective = dilation * (kernel - 1) + 1;
        var span = input.Value!.Value + padBegin + padEnd - effective;
        var size = (ceilMode ? (span + stride - 1) / stride : span / stride) + 1;
        // PyTorch (and ONNX since opset 19) drop a last window that would start inside the end padding.
        if (ceilMode && (size - 1) * stride >= input.Value.Value + padBegin) size--;
        return Dim.Of(size);
    }

    /// <summary>Product of dims: static when all are, else unknown.</summary>
    public static Dim Product(IEnumerable<Dim> dims)
    {
        long product = 1;
        foreach (var d in dims)
        {
            if (!d.IsStatic) return Unknown();
            product *= d.Value!.Value;
        }
        return Dim.Of(product);
    }
}
