namespace ModelForge.Optimize.Fp16;

/// <summary>How <see cref="Fp16Converter"/> rewrites a model to float16.</summary>
public sealed record Fp16Options
{
    /// <summary>
    /// The op types that stay float32 unless the user says otherwise. Two groups (docs/precision.md, "fp16"):
    /// <list type="bullet">
    /// <item>the ai.onnx part of onnxconverter-common's (and ONNX Runtime's transformers tool's) <c>DEFAULT_OP_BLOCK_LIST</c>:
    /// ops with no float16 kernel in some runtimes or whose float inputs are indices, sizes or scales (Range, Resize,
    /// Upsample, RoiAlign, NonMaxSuppression, TopK, CumSum, Min, Max, RandomUniformLike);</item>
    /// <item>ops whose range or accumulation float16 cannot carry: normalisations (a mean and a variance over many
    /// elements), softmax (exp and a sum), reductions that sum or multiply, Exp (overflows above 11.1), Pow and Sqrt
    /// (the variance path of a decomposed LayerNorm squares activations: |x| &gt; 256 overflows), and the recurrent ops
    /// (LSTM, GRU, RNN: their state accumulates over every time step, and ONNX Runtime's CPU provider has float32 kernels
    /// only).</item>
    /// </list>
    /// </summary>
    public static IReadOnlyList<string> DefaultBlockList { get; } =
    [
        "CumSum", "Max", "Min", "NonMaxSuppression", "RandomUniformLike", "Range", "Resize", "RoiAlign", "TopK", "Upsample",
        "LayerNormalization", "GroupNormalization", "InstanceNormalization",
        "LpNormalization", "MeanVarianceNormalization", "RMSNormalization",
        "Softmax", "LogSoftmax",
        "ReduceL1", "ReduceL2", "ReduceLogSum", "ReduceLogSumExp", "ReduceMean", "ReduceProd", "ReduceSum", "ReduceSumSquare",
        "Exp", "Pow", "Sqrt",
        "LSTM", "GRU", "RNN",
    ];

    /// <summary>Op types (ai.onnx names, or op types of the model) whose nodes stay float32.</summary>
    public IReadOnlyCollection<string> BlockList { get; init; } = DefaultBlockList;

    /// <summary>Node names that stay float32 whatever their op type (the sensitivity pass's way to keep one layer).</summary>
    public IReadOnlyCollection<string> NodeBlockList { get; init; } = [];

    /// <summary>
    /// Keep the graph's float32 inputs and outputs float32, with Casts at the edges (onnxconverter-common's
    /// <c>keep_io_types</c>). On by default: the model keeps the signature its declared inputs, validation data and
    /// bundles were written for; off, float inputs and outputs become float16.
    /// </summary>
    public bool KeepIoTypes { get; init; } = true;
}
