import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { registerSecondOrderGradients } from '../src/curvature/secondOrderGradients.ts';
await tf.setBackend('cpu');
registerSecondOrderGradients();
const x = tf.randomNormal([3, 6, 6, 2], 0, 1, 'float32', 1) as tf.Tensor4D;
const c = tf.randomNormal([3, 4], 0, 1, 'float32', 9);
function check(name: string, shapes: number[][], f: (...w: tf.Tensor[]) => tf.Scalar) {
  const W = shapes.map((s, i) => tf.randomNormal(s, 0, 0.5, 'float32', 10 + i));
  const vs = shapes.map((s, i) => tf.randomNormal(s, 0, 1, 'float32', 20 + i));
  const g = tf.grads(f);
  const hv = tf.grads((...a: tf.Tensor[]) => { const gg = g(a); return tf.addN(gg.map((t, k) => tf.sum(tf.mul(t, vs[k]!)))) as tf.Scalar; })(W);
  const h = 1e-2;
  const gp = g(W.map((w, k) => tf.add(w, tf.mul(h, vs[k]!))));
  const gm = g(W.map((w, k) => tf.sub(w, tf.mul(h, vs[k]!))));
  const errs = W.map((_, k) => { const fd = tf.div(tf.sub(gp[k]!, gm[k]!), 2 * h);
    return (tf.norm(tf.sub(fd, hv[k]!)).dataSync()[0]! / tf.norm(fd).dataSync()[0]!).toExponential(2); });
  console.log(name, errs.join(' '));
}
const lin = (h: tf.Tensor, w: tf.Tensor) => tf.matMul(tf.reshape(h, [3, -1]), w);
const loss = (z: tf.Tensor) => tf.sum(tf.mul(tf.sub(z, tf.log(tf.sum(tf.exp(z), 1, true))), c)) as tf.Scalar;
try { check('dense-tanh', [[72, 5], [5, 4]], (a, b) => loss(lin(tf.tanh(lin(x, a!)), b!))); } catch (e) { console.log('dense-tanh', String(e)); }
try { check('dense-sigmoid-softmax', [[72, 5], [5, 4]], (a, b) => tf.sum(tf.mul(tf.log(tf.softmax(lin(tf.sigmoid(lin(x, a!)), b!))), c)) as tf.Scalar); } catch (e) { console.log('x', String(e)); }
try { check('conv', [[3, 3, 2, 3], [108, 4]], (a, b) => loss(lin(tf.tanh(tf.conv2d(x, a as tf.Tensor4D, 1, 'same')), b!))); } catch (e) { console.log('conv', String(e)); }
try { check('conv-s2-valid', [[3, 3, 2, 3], [12, 4]], (a, b) => loss(lin(tf.tanh(tf.conv2d(x, a as tf.Tensor4D, 2, 'valid')), b!))); } catch (e) { console.log('conv2', String(e)); }
try { check('conv-conv', [[3, 3, 2, 3], [72, 4], [3,3,3,2]], (a, b, d) => loss(lin(tf.conv2d(tf.tanh(tf.conv2d(x, a as tf.Tensor4D, 1, 'same')), d as tf.Tensor4D, 1, 'same'), b!))); } catch (e) { console.log('conv-conv', String(e)); }
try { check('maxpool', [[3, 3, 2, 3], [27, 4]], (a, b) => loss(lin(tf.maxPool(tf.tanh(tf.conv2d(x, a as tf.Tensor4D, 1, 'same')), 2, 2, 'valid'), b!))); } catch (e) { console.log('maxpool', String(e)); }
try { check('avgpool', [[3, 3, 2, 3], [27, 4]], (a, b) => loss(lin(tf.avgPool(tf.tanh(tf.conv2d(x, a as tf.Tensor4D, 1, 'same')), 2, 2, 'valid'), b!))); } catch (e) { console.log('avgpool', String(e)); }
try { check('gap', [[3, 3, 2, 3], [3, 4]], (a, b) => loss(lin(tf.mean(tf.tanh(tf.conv2d(x, a as tf.Tensor4D, 1, 'same')), [1,2]), b!))); } catch (e) { console.log('gap', String(e)); }
