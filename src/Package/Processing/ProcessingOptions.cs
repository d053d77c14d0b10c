namespace ModelForge.Package.Processing;

/// <summary>How the request's image tensor is laid out (without the batch dim): height, width, channels, or channels first.</summary>
public enum ImageLayout
{
    /// <summary><c>[N, H, W, C]</c>: what image decoders (PIL, OpenCV, numpy) give.</summary>
    Hwc,
    /// <summary><c>[N, C, H, W]</c>: already channels first, only not normalised.</summary>
    Nchw,
}

/// <summary>The order of the request's three colour channels; the model takes RGB.</summary>
public enum ChannelOrder
{
    Rgb,
    /// <summary>OpenCV's order: the preprocessing reverses the channels.</summary>
    Bgr,
}

/// <summary>
/// Image preprocessing in front of the model: the request is a <c>uint8</c> image batch in <see cref="Layout"/> at
/// <see cref="Height"/>×<see cref="Width"/>; it becomes the model's float <c>[N, C, H, W]</c> input by casting, moving the
/// channels first, reordering them (<see cref="ChannelOrder"/>), resizing bilinearly to the model's H×W (half-pixel
/// centres, PyTorch's <c>interpolate(mode="bilinear", align_corners=False)</c>) and normalising
/// <c>(x / 255 - mean[c]) / std[c]</c>.
/// </summary>
public sealed record ImagePreprocess
{
    public ImageLayout Layout { get; init; } = ImageLayout.Hwc;
    public ChannelOrder ChannelOrder { get; init; } = ChannelOrder.Rgb;
    /// <summary>The request's image height; null: the model's (no resize).</summary>
    public long? Height { get; init; }
    /// <summary>The request's image width; null: the model's (no resize).</summary>
    public long? Width { get; init; }
    /// <summary>False: the request must already have the model's H×W (a differing size is MF4070).</summary>
    public bool Resize { get; init; } = true;
    /// <summary>Per-channel mean on the 0..1 scale (after dividing by 255); empty: 0 for every channel.</summary>
    public IReadOnlyList<float> Mean { get; init; } = [];
    /// <summary>Per-channel standard deviation on the 0..1 scale; empty: 1 for every channel.</summary>
    public IReadOnlyList<float> Std { get; init; } = [];
}

/// <summary>
/// Classifier postprocessing behind the model's <c>[N, classes]</c> output: <c>scores</c> (softmax probabilities, or the
/// raw output), optionally <c>topk_scores</c>/<c>topk_indices</c> and <c>class_index</c> (argmax). A label file is not
/// turned into string tensors: it becomes the <c>label_filename</c> of the <c>scores</c> output, so Triton's
/// classification extension answers <c>"score:index:label"</c> strings for the top <c>class_count</c> classes a client asks for.
/// </summary>
public sealed record ClassifierPostprocess
{
    public bool Softmax { get; init; }
    /// <summary>Null: no top-k outputs.</summary>
    public int? TopK { get; init; }
    public bool Argmax { get; init; }
    /// <summary>A text file with one label per class, in class order; null: no labels.</summary>
    public string? LabelFile { get; init; }
}

/// <summary>What to put around the model: either side may be missing. <see cref="Fused"/> also writes one ONNX model with all three.</summary>
public sealed record ProcessingOptions
{
    public ImagePreprocess? Preprocess { get; init; }
    public ClassifierPostprocess? Postprocess { get; init; }
    public bool Fused { get; init; }
}
