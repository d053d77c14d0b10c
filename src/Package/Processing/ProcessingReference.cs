namespace ModelForge.Package.Processing;

/// <summary>What the postprocessing gives for a batch, flattened row by row; a part the spec does not ask for is null.</summary>
public sealed record ClassifierResult(float[] Scores, float[]? TopKScores, long[]? TopKIndices, long[]? ClassIndex);

/// <summary>
/// The pre- and post-processing written out in plain loops, independent of the ONNX graphs
/// (<see cref="ProcessingGraphs"/>) and of the generated TorchServe handler: the reference the chain's accuracy gate
/// compares both against. The resize follows PyTorch's <c>upsample_bilinear2d</c> with <c>align_corners=False</c>:
/// source = (destination + 0.5) · in/out − 0.5, clamped at 0, the right/bottom neighbour clamped to the last pixel.
/// </summary>
public static class ProcessingReference
{
    /// <summary>A uint8 request batch (the plan's request layout, <paramref name="batch"/> images) → the model's float <c>[N, C, H, W]</c>.</summary>
    public static float[] Preprocess(ProcessingPlan plan, byte[] images, int batch)
    {
        var pre = plan.Preprocess!;
        var input = plan.Input!;
        var (inHeight, inWidth) = plan.RequestSize;
        var channels = (int)input.Channels;
        var (height, width) = ((int)input.Height, (int)input.Width);
        if (images.LongLength != batch * channels * inHeight * inWidth)
            throw new ArgumentException($"{images.Length} bytes are not {batch} images of {inHeight}x{inWidth}x{channels}", nameof(images));
        float Pixel(int n, int c, long y, long x) => pre.Layout == ImageLayout.Hwc
            ? images[((n * inHeight + y) * inWidth + x) * channels + c]
            : images[((n * channels + c) * inHeight + y) * inWidth + x];

        var result = new float[batch * channels * height * width];
        var scaleY = (float)inHeight / height;
        var scaleX = (float)inWidth / width;
        for (var n = 0; n < batch; n++)
        for (var c = 0; c < channels; c++)
        {
            var source = pre.ChannelOrder == ChannelOrder.Bgr ? channels - 1 - c : c;
            var mean = pre.Mean.Count > 0 ? pre.Mean[c] : 0f;
            var std = pre.Std.Count > 0 ? pre.Std[c] : 1f;
            for (var y = 0; y < height; y++)
            {
                var (y0, y1, wy) = Neighbours(y, scaleY, inHeight);
                for (var x = 0; x < width; x++)
                {
                    var (x0, x1, wx) = Neighbours(x, scaleX, inWidth);
                    var top = (1 - wx) * Pixel(n, source, y0, x0) + wx * Pixel(n, source, y0, x1);
                    var bottom = (1 - wx) * Pixel(n, source, y1, x0) + wx * Pixel(n, source, y1, x1);
                    var value = (1 - wy) * top + wy * bottom;
                    result[((n * channels + c) * height + y) * width + x] = (value / 255f - mean) / std;
                }
            }
        }
        return result;
    }

    /// <summary>The two source pixels a destination pixel blends and the second one's weight (1:1 sizes give the pixel itself, weight 0).</summary>
    private static (long Low, long High, float Weight) Neighbours(int destination, float scale, long size)
    {
        var source = Math.Max(0f, scale * (destination + 0.5f) - 0.5f);
        var low = Math.Min((long)source, size - 1);
        var high = Math.Min(low + 1, size - 1);
        return (low, high, source - low);
    }

    /// <summary>The model's <c>[N, classes]</c> output → scores (softmax in double), top-k (descending, the lower index first on ties) and argmax.</summary>
    public static ClassifierResult Postprocess(ProcessingPlan plan, float[] logits, int batch)
    {
        var post = plan.Postprocess!;
        var classes = (int)plan.Output!.Classes;
        var scores = new float[batch * classes];
        var k = post.TopK ?? 0;
        var topScores = new float[batch * k];
        var topIndices = new long[batch * k];
        var argmax = new long[batch];
        for (var n = 0; n < batch; n++)
        {
            var row = logits.AsSpan(n * classes, classes);
            var max = double.NegativeInfinity;
            foreach (var v in row) max = Math.Max(max, v);
            var sum = 0.0;
            foreach (var v in row) sum += Math.Exp(v - max);
            for (var c = 0; c < classes; c++)
                scores[n * classes + c] = post.Softmax ? (float)(Math.Exp(row[c] - max) / sum) : row[c];
            var order = Enumerable.Range(0, classes).OrderByDescending(c => scores[n * classes + c]).ThenBy(c => c).ToList();
            for (var i = 0; i < k; i++)
            {
                topIndices[n * k + i] = order[i];
                topScores[n * k + i] = scores[n * classes + order[i]];
            }
            argmax[n] = order[0];
        }
        return new ClassifierResult(scores, post.TopK is null ? null : topScores, post.TopK is null ? null : topIndices, post.Argmax ? argmax : null);
    }
}
