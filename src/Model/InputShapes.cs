namespace ModelForge.Model;

/// <summary>A symbolic dim that <see cref="InputShapes.At"/> found no size for: input <see cref="Input"/>'s dim <see cref="Dim"/>.</summary>
public readonly record struct UnsizedDim(int Input, int Dim, string Symbol);

/// <summary>
/// The concrete shapes of declared inputs at one batch size: what validation generates, what the tuner measures and
/// what engine profiles span. Static dims are as declared; the batch dim (<see cref="BatchDim.Of"/>) is the batch size
/// wherever its symbol appears; every other symbol takes its size from <c>dimSizes</c>. A symbol with no size there
/// (or a negative one) is listed in <see cref="Unsized"/>, in input and dim order, and its dims are -1 in
/// <see cref="Shapes"/>; each caller says in its own words what to do about it.
/// </summary>
public sealed record InputShapes(long[][] Shapes, IReadOnlyList<UnsizedDim> Unsized)
{
    public static InputShapes At(IReadOnlyList<InputSpec> inputs, long batchSize, IReadOnlyDictionary<string, long> dimSizes)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        ArgumentNullException.ThrowIfNull(dimSizes);
        var batchDim = BatchDim.Of(inputs);
        var shapes = new long[inputs.Count][];
        var unsized = new List<UnsizedDim>();
        for (var i = 0; i < inputs.Count; i++)
        {
            var dims = inputs[i].Dims;
            var shape = shapes[i] = new long[dims.Count];
            for (var d = 0; d < dims.Count; d++)
            {
                if (dims[d].Value is { } value) shape[d] = value;
                else if (dims[d].Symbol == batchDim) shape[d] = batchSize;
                else if (dimSizes.TryGetValue(dims[d].Symbol!, out var size) && size >= 0) shape[d] = size;
                else
                {
                    shape[d] = -1;
                    unsized.Add(new UnsizedDim(i, d, dims[d].Symbol!));
                }
            }
        }
        return new InputShapes(shapes, unsized);
    }
}
