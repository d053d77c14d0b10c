using ModelForge.Core.Diagnostics;
using ModelForge.Model;

namespace ModelForge.Package.TorchServe;

/// <summary>
/// What TorchServe's built-in vision handlers feed the model, from their <c>image_processing</c> transforms
/// (pytorch/serve <c>ts/torch_handler/</c> at 62c4d6a1): <c>image_classifier</c> and <c>image_segmenter</c> resize to
/// 256, center-crop 224 and stack the images into one <c>[N, 3, 224, 224]</c> float tensor (VisionHandler.preprocess).
/// <c>object_detector</c> keeps each image's size (ToTensor only), <c>dali_image_classifier</c> runs the user's DALI
/// pipeline and <c>base_handler</c>/<c>text_classifier</c> do no image processing, so only the first two have a size to check.
/// </summary>
public static class BuiltInHandlerInput
{
    private sealed record FixedImage(string ClassName, string Transforms, long Channels, long Height, long Width);

    private static readonly Dictionary<string, FixedImage> Handlers = new(StringComparer.Ordinal)
    {
        ["image_classifier"] = new("ImageClassifier", "resizes each image to 256 and center-crops it to 224", 3, 224, 224),
        ["image_segmenter"] = new("ImageSegmenter", "resizes each image to 256 and center-crops it to 224", 3, 224, 224),
    };

    /// <summary>
    /// A warning (MF4012) when <paramref name="handler"/> is a built-in handler with a fixed image size and the model's
    /// first input (the one tensor the handler passes) declares a static channel, height or width that differs from it,
    /// or is not a 4-D image batch; null when they agree, the dims are symbolic, or the handler has no fixed size.
    /// </summary>
    public static Diagnostic? Check(string handler, IReadOnlyList<InputSpec> inputs)
    {
        if (!Handlers.TryGetValue(handler, out var image) || inputs.Count == 0) return null;
        var input = inputs[0];
        long?[] expected = [null, image.Channels, image.Height, image.Width];
        var agrees = input.Dims.Count == expected.Length
                     && input.Dims.Zip(expected).All(p => p.Second is null || p.First.Value is null || p.First.Value == p.Second);
        if (agrees) return null;

        var size = $"{image.Channels}×{image.Height}×{image.Width}";
        var chw = input.Dims.Count == 4 ? $"{input.Dims[1]}×{input.Dims[2]}×{input.Dims[3]}" : null;
        var declared = chw is null ? "" : $" ({chw})";
        var wanted = chw is null ? "the model's input shape" : chw + " images";
        return new Diagnostic(DiagnosticCode.TorchServeHandlerInputMismatch,
            $"TorchServe's built-in handler {handler} {image.Transforms}, so it feeds the model [N, {image.Channels}, {image.Height}, {image.Width}] " +
            $"({size} images), but the model's input is declared {input}{declared}",
            null,
            $"pass a handler of your own whose preprocess makes {wanted}, e.g. a subclass of {image.ClassName} with its own image_processing: " +
            "--handler my_handler.py (package.torchserve.handler in a build spec)",
            DiagnosticSeverity.Warning);
    }
}
